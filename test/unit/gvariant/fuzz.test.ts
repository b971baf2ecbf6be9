/**
 * Hostile bytes: for every OSTree type, random and mutated inputs must either decode or throw
 * ArborError GVARIANT_INVALID — never another exception, never hang, never produce a value
 * out of proportion to the input.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { deserialize } from "../../../src/gvariant/deserialize.js";
import {
  ARCHIVE_FILE_HEADER,
  COMMIT,
  DIRMETA,
  DIRTREE,
  FILE_HEADER,
  SUMMARY,
  VARDICT,
} from "../../../src/gvariant/formats.js";
import { type GVValue, Just, serialize, Variant } from "../../../src/gvariant/serialize.js";
import { arbValue } from "./_arb.js";

const TYPES = { COMMIT, DIRTREE, DIRMETA, FILE_HEADER, ARCHIVE_FILE_HEADER, SUMMARY, VARDICT };

/** Number of JS values in a decoded value (a measure of what decoding allocated). */
function countNodes(v: GVValue): number {
  if (v instanceof Variant) return 1 + countNodes(v.value);
  if (v instanceof Just) return 1 + countNodes(v.value);
  if (Array.isArray(v)) return 1 + v.reduce((n: number, e: GVValue) => n + countNodes(e), 0);
  return 1;
}

type Mutation =
  | { kind: "set"; pos: number; byte: number }
  | { kind: "flip"; pos: number; bit: number }
  | { kind: "truncate"; pos: number }
  | { kind: "insert"; pos: number; bytes: Uint8Array }
  | { kind: "delete"; pos: number; n: number };

const interestingByte = fc.oneof(
  fc.integer({ min: 0, max: 255 }),
  fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff),
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), pos: fc.nat(), byte: interestingByte }),
  fc.record({ kind: fc.constant("flip" as const), pos: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), pos: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    pos: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant("delete" as const), pos: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
);

function mutate(b: Uint8Array, ms: Mutation[]): Uint8Array {
  let out = Uint8Array.from(b);
  for (const m of ms) {
    const pos = out.length === 0 ? 0 : m.pos % (out.length + (m.kind === "insert" ? 1 : 0));
    switch (m.kind) {
      case "set":
        if (out.length) out[pos] = m.byte;
        break;
      case "flip":
        if (out.length) out[pos]! ^= 1 << m.bit;
        break;
      case "truncate":
        out = out.slice(0, pos);
        break;
      case "insert":
        out = Uint8Array.from([...out.subarray(0, pos), ...m.bytes, ...out.subarray(pos)]);
        break;
      case "delete":
        out = Uint8Array.from([...out.subarray(0, pos), ...out.subarray(pos + m.n)]);
        break;
    }
  }
  return out;
}

let slowest = 0;

/** Decode hostile `bytes` as `type`; fails the test on anything but success or GVARIANT_INVALID. */
function decodeHostile(type: string, bytes: Uint8Array): void {
  const t0 = performance.now();
  let v: GVValue;
  try {
    v = deserialize(type, bytes);
  } catch (e) {
    if (!isArborError(e, "GVARIANT_INVALID")) throw e;
    return;
  } finally {
    slowest = Math.max(slowest, performance.now() - t0);
  }
  expect(countNodes(v)).toBeLessThanOrEqual(2 * bytes.length + 64);
}

describe("deserialize() on hostile bytes", () => {
  for (const [name, type] of Object.entries(TYPES)) {
    it(`${name}: mutated valid objects decode or throw GVARIANT_INVALID`, () => {
      const seed = arbValue(type).map((v) => serialize(type, v));
      fc.assert(
        fc.property(seed, fc.array(mutation, { minLength: 1, maxLength: 4 }), (b, ms) => {
          decodeHostile(type, mutate(b, ms));
        }),
        { numRuns: 600 },
      );
    });

    it(`${name}: random bytes decode or throw GVARIANT_INVALID`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (b) => decodeHostile(type, b)),
        { numRuns: 600 },
      );
    });
  }

  it("never takes long on any input", () => {
    expect(slowest).toBeLessThan(250);
  });

  it("rejects an empty variable-size tuple that needs framing offsets (was a RangeError)", () => {
    // a(ss) = [00]: one element spanning 0 bytes, so the (ss) has no room for its offset
    expect(() => deserialize("a(ss)", new Uint8Array([0]))).toThrow(
      expect.objectContaining({ code: "GVARIANT_INVALID" }),
    );
    expect(() => deserialize("(a(ss)s)", new Uint8Array([0, 0x61, 0, 1]))).toThrow(
      expect.objectContaining({ code: "GVARIANT_INVALID" }),
    );
  });

  it("rejects offset tables that claim more than the input holds", () => {
    // a(say) of 8 bytes whose 1-byte "table start" points past the end
    expect(() => deserialize("a(say)", new Uint8Array([0x61, 0, 1, 2, 3, 4, 5, 0xff]))).toThrow(
      expect.objectContaining({ code: "GVARIANT_INVALID" }),
    );
    // a 70000-byte aay with 4-byte offsets: table start 0 claims 17500 empty elements — allowed, O(input)
    const big = new Uint8Array(70000);
    const v = deserialize("aay", big) as Uint8Array[];
    expect(v.length).toBe(17500);
    // the same with a table start beyond the container
    const dv = new DataView(big.buffer);
    dv.setUint32(big.length - 4, 0xfffffff0, true);
    expect(() => deserialize("aay", big)).toThrow(expect.objectContaining({ code: "GVARIANT_INVALID" }));
    // variant without a type separator, and with an oversized type string
    expect(() => deserialize("v", new Uint8Array(5000).fill(0x61))).toThrow(
      expect.objectContaining({ code: "GVARIANT_INVALID" }),
    );
    const longType = new TextEncoder().encode(`\0${"a".repeat(3000)}y`);
    expect(() => deserialize("v", longType)).toThrow(expect.objectContaining({ code: "GVARIANT_INVALID" }));
  });

  it("reads 4-byte framing offsets from hostile containers", () => {
    // a(ss) of 65540 bytes: element offsets are 4 bytes wide; corrupt one of them
    const elems = Array.from({ length: 400 }, (_, i) => [`k${i}`, "v".repeat(200)]);
    const b = serialize("a(ss)", elems);
    expect(b.length).toBeGreaterThan(65535);
    expect(deserialize("a(ss)", b)).toEqual(elems);
    for (let i = 0; i < 200; i++)
      decodeHostile("a(ss)", mutate(b, [{ kind: "set", pos: b.length - 1 - i, byte: 0xff }]));
  });
});
