/** Every field of a hostile superblock that the decoder checks is refused with a clear error. */
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { inlinePart, superblockCommitmeta } from "../../../src/delta/apply.js";
import { openPart } from "../../../src/delta/part.js";
import {
  decodeSuperblock,
  encodeSuperblock,
  SUPERBLOCK,
  type Superblock,
  withEndianness,
} from "../../../src/delta/superblock.js";
import { deserialize, type GVValue, serialize, Variant } from "../../../src/gvariant/index.js";
import { commitmetaKey, inlinePartKey } from "../../../src/repo/delta-naming.js";
import { sampleCommit } from "./_fixtures.js";

function sample(): Superblock {
  const commit = sampleCommit();
  return {
    metadata: withEndianness([], false),
    timestamp: 1700000123,
    from: "c".repeat(64),
    to: sha256Hex(commit),
    commit,
    parts: [
      {
        version: 0,
        checksum: "d".repeat(64),
        compressedSize: 10,
        uncompressedSize: 20,
        objects: [{ type: "dirtree", checksum: "e".repeat(64) }],
      },
    ],
    fallbacks: [{ type: "file", checksum: "9".repeat(64), compressedSize: 5, uncompressedSize: 9 }],
    bigEndian: false,
  };
}

/** The sample superblock re-encoded after `edit` changed its raw GVariant fields. */
function mangled(edit: (v: GVValue[]) => void): Uint8Array {
  const v = deserialize(SUPERBLOCK, encodeSuperblock(sample())) as GVValue[];
  edit(v);
  return serialize(SUPERBLOCK, v);
}

type Part = [number, Uint8Array, bigint, bigint, Uint8Array];
type Fallback = [number, Uint8Array, bigint, bigint];
const part = (v: GVValue[]): Part => (v[6] as Part[])[0]!;
const fallback = (v: GVValue[]): Fallback => (v[7] as Fallback[])[0]!;

describe("decodeSuperblock() on hostile fields", () => {
  const cases: Array<[string, (v: GVValue[]) => void, RegExp]> = [
    [
      "an endianness that is neither l nor B",
      (v) => (v[0] = withEndianness([], false).map(([k]) => [k, new Variant("y", 0x58)])),
      /invalid ostree.endianness/,
    ],
    [
      "an endianness of the wrong type",
      (v) => (v[0] = [["ostree.endianness", new Variant("s", "l")]]),
      /invalid ostree.endianness/,
    ],
    ["a to checksum of 31 bytes", (v) => (v[3] = new Uint8Array(31)), /to checksum is 31 bytes, not 32/],
    ["a from checksum of 5 bytes", (v) => (v[2] = new Uint8Array(5)), /from checksum is 5 bytes, not 32/],
    ["an unsupported part version", (v) => (part(v)[0] = 1), /part 0 has unsupported version 1/],
    ["a part checksum of 33 bytes", (v) => (part(v)[1] = new Uint8Array(33)), /part 0 checksum is 33 bytes/],
    [
      "a part size past 2^53",
      (v) => (part(v)[2] = 2n ** 60n),
      /part 0 size 1152921504606846976 is out of range/,
    ],
    [
      "an uncompressed size past 2^53",
      (v) => (part(v)[3] = 2n ** 60n),
      /part 0 uncompressed size .* is out of range/,
    ],
    [
      "an unknown object type in a part",
      (v) => (part(v)[4] = Uint8Array.of(99, ...new Uint8Array(32))),
      /unknown object type 99/,
    ],
    [
      "an object list of 34 bytes",
      (v) => (part(v)[4] = new Uint8Array(34)),
      /object list of 34 bytes is not a multiple of 33/,
    ],
    ["an unknown fallback type", (v) => (fallback(v)[0] = 99), /fallback 0 has unknown object type 99/],
    [
      "a fallback checksum of 2 bytes",
      (v) => (fallback(v)[1] = new Uint8Array(2)),
      /fallback 0 checksum is 2 bytes/,
    ],
    ["a fallback size past 2^53", (v) => (fallback(v)[2] = 2n ** 63n), /fallback 0 size .* is out of range/],
  ];
  for (const [what, edit, re] of cases) {
    it(`refuses ${what}`, () => {
      expect(() => decodeSuperblock(mangled(edit))).toThrow(re);
      expect(() => decodeSuperblock(mangled(edit))).toThrow(/^Invalid static delta superblock: /);
    });
  }
  it("refuses a signed superblock that does not decode", () => {
    const junk = Buffer.concat([Buffer.from("OSTSGNDT", "latin1"), Buffer.from([1, 2, 3])]);
    expect(() => decodeSuperblock(junk)).toThrow(/signed superblock does not decode/);
  });
  it("refuses an inline part that is not (yay) and commitmeta that is not a{sv}", () => {
    const sb = sample();
    sb.metadata = [
      [inlinePartKey(sb, 0), new Variant("s", "x")],
      [commitmetaKey(sb), new Variant("s", "x")],
    ];
    expect(() => inlinePart(sb, 0)).toThrow(/inline part 0 is not \(yay\)/);
    expect(() => superblockCommitmeta(sb)).toThrow(/commitmeta is not a\{sv\}/);
    expect(inlinePart(sample(), 0)).toBeNull();
  });
  it("refuses an empty part file", async () => {
    const empty = new Uint8Array(0);
    const h = { ...sample().parts[0]!, checksum: sha256Hex(empty), compressedSize: 0 };
    await expect(openPart(empty, h, 0)).rejects.toThrow(/part 0 is empty/);
  });
});
