/** Static delta codecs: names, varints, bspatch, superblock and part round trips, hostile input. */
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { bsdiff } from "../../../src/delta/bsdiff.js";
import { bspatch, encodeOff } from "../../../src/delta/bspatch.js";
import { decodePartPayload, encodePartFile, openPart, type PartPayload } from "../../../src/delta/part.js";
import {
  decodeSuperblock,
  encodeSuperblock,
  type Superblock,
  unwrapSignedSuperblock,
  withEndianness,
  wrapSignedSuperblock,
} from "../../../src/delta/superblock.js";
import { encodeVarint, readVarint } from "../../../src/delta/varint.js";
import { Variant } from "../../../src/gvariant/index.js";
import {
  checksumToMb64,
  deltaDir,
  deltaFromDirName,
  deltaIndexPath,
  mb64ToChecksum,
  parseDeltaName,
} from "../../../src/repo/delta-naming.js";
import { sampleCommit } from "./_fixtures.js";

const hex = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString("hex"));

describe("delta naming", () => {
  it("modified base64 round-trips, is 43 characters, never has / or =", () => {
    fc.assert(
      fc.property(hex, (h) => {
        const m = checksumToMb64(h);
        expect(m).toMatch(/^[A-Za-z0-9+_]{43}$/);
        expect(mb64ToChecksum(m)).toBe(h);
      }),
    );
  });
  it("mb64ToChecksum() refuses wrong lengths, bad characters and non-canonical spellings", () => {
    const m = checksumToMb64("ff".repeat(32));
    expect(mb64ToChecksum(m.slice(1))).toBeNull();
    expect(mb64ToChecksum(`${m.slice(0, 42)}/`)).toBeNull();
    expect(mb64ToChecksum(`${m.slice(0, 42)}=`)).toBeNull();
    // the last character carries 2 padding bits that must be zero
    const zero = checksumToMb64("00".repeat(32));
    expect(mb64ToChecksum(`${zero.slice(0, 42)}B`)).toBeNull();
  });
  it("deltaDir() splits 2/rest and joins FROM-TO; deltaFromDirName() inverts it", () => {
    fc.assert(
      fc.property(fc.option(hex, { nil: null }), hex, (from, to) => {
        const d = deltaDir({ from, to });
        const [, pre, rest] = d.split("/") as [string, string, string];
        expect(d.startsWith("deltas/")).toBe(true);
        expect(pre).toHaveLength(2);
        expect(deltaFromDirName(pre, rest)).toEqual({ from, to });
      }),
    );
    expect(deltaIndexPath("00".repeat(32))).toBe(`delta-indexes/AA/${"A".repeat(41)}.index`);
  });
  it("parseDeltaName() takes TO and FROM-TO in hex only", () => {
    const a = "a".repeat(64);
    const b = "b".repeat(64);
    expect(parseDeltaName(a)).toEqual({ from: null, to: a });
    expect(parseDeltaName(`${a}-${b}`)).toEqual({ from: a, to: b });
    for (const bad of ["GARBAGE", `${a}-`, `-${a}`, a.slice(1), `${a}-${b}-${a}`])
      expect(() => parseDeltaName(bad)).toThrow(/Invalid static delta name/);
  });
});

describe("delta varints", () => {
  it("round-trip any safe integer", () => {
    fc.assert(
      fc.property(fc.array(fc.maxSafeNat(), { maxLength: 8 }), (ns) => {
        const bytes = Uint8Array.from(ns.flatMap(encodeVarint));
        const c = { bytes, pos: 0 };
        for (const n of ns) expect(readVarint(c)).toBe(n);
        expect(c.pos).toBe(bytes.length);
      }),
    );
  });
  it("refuse truncated and overlong varints", () => {
    expect(() => readVarint({ bytes: Uint8Array.from([0x80, 0x80]), pos: 0 })).toThrow(/truncated varint/);
    expect(() => readVarint({ bytes: new Uint8Array(11).fill(0x80), pos: 0 })).toThrow(/out of range|longer/);
    expect(() => readVarint({ bytes: new Uint8Array(0), pos: 0 })).toThrow(/truncated/);
  });
});

describe("bspatch", () => {
  it("applies what bsdiff() makes, for any pair of files", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        expect(Buffer.from(bspatch(a, bsdiff(a, b), b.length))).toEqual(Buffer.from(b));
      }),
    );
  });
  it("round-trips related files (an insertion, a deletion) with patches mostly of zeros", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 50, maxLength: 2000 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.nat(),
        fc.nat(),
        (a, ins, at, cut) => {
          const i = at % a.length;
          const b = Buffer.concat([a.subarray(0, i), ins, a.subarray(Math.min(a.length, i + (cut % 20)))]);
          const p = bsdiff(a, b);
          expect(Buffer.from(bspatch(a, p, b.length))).toEqual(b);
        },
      ),
    );
  });
  it("patches an in-place change with mostly zeros", () => {
    const old = new Uint8Array(10000).map((_, i) => i & 0xff);
    const neu = Uint8Array.from(old);
    neu[5000] = 7;
    const p = bsdiff(old, neu);
    expect(p.filter((x) => x !== 0).length).toBeLessThan(40);
  });
  it("handles negative seeks (control values with the sign bit)", () => {
    const old = Uint8Array.from([1, 2, 3, 4]);
    // copy old[0..2), seek back 2, copy old[0..2) again
    const patch = Buffer.concat([
      encodeOff(2),
      encodeOff(0),
      encodeOff(-2),
      Buffer.alloc(2),
      encodeOff(2),
      encodeOff(0),
      encodeOff(0),
      Buffer.alloc(2),
    ]);
    expect([...bspatch(old, patch, 4)]).toEqual([1, 2, 1, 2]);
  });
  it("refuses truncated, negative and overflowing patches", () => {
    const old = new Uint8Array(8);
    expect(() => bspatch(old, new Uint8Array(10), 4)).toThrow(/truncated \(control/);
    expect(() => bspatch(old, Buffer.concat([encodeOff(-1), encodeOff(0), encodeOff(0)]), 4)).toThrow(
      /negative/,
    );
    expect(() => bspatch(old, Buffer.concat([encodeOff(5), encodeOff(0), encodeOff(0)]), 4)).toThrow(
      /past the end/,
    );
    expect(() =>
      bspatch(old, Buffer.concat([encodeOff(4), encodeOff(0), encodeOff(0), Buffer.alloc(2)]), 4),
    ).toThrow(/truncated \(diff/);
    expect(() =>
      bspatch(old, Buffer.concat([encodeOff(0), encodeOff(4), encodeOff(0), Buffer.alloc(1)]), 4),
    ).toThrow(/truncated \(extra/);
    expect(() => bspatch(old, Buffer.concat([encodeOff(0), encodeOff(9), encodeOff(0)]), 4)).toThrow(
      /past the end/,
    );
  });
  it("refuses a new size the patch cannot produce before allocating it", () => {
    const patch = Buffer.concat([encodeOff(0), encodeOff(4), encodeOff(0), Buffer.alloc(4)]);
    expect([...bspatch(new Uint8Array(0), patch, 4)]).toEqual([0, 0, 0, 0]);
    expect(() => bspatch(new Uint8Array(0), patch, 2 ** 40)).toThrow(/cannot produce 1099511627776 bytes/);
    expect(() => bspatch(new Uint8Array(0), patch, patch.length + 1)).toThrow(/cannot produce/);
  });
});

function sampleSuperblock(bigEndian: boolean): Superblock {
  const commit = sampleCommit();
  return {
    metadata: withEndianness([["user.key", new Variant("s", "v")]], bigEndian),
    timestamp: 1700000123,
    from: "c".repeat(64),
    to: sha256Hex(commit),
    commit,
    parts: [
      {
        version: 0,
        checksum: "d".repeat(64),
        compressedSize: 123456,
        uncompressedSize: 654321,
        objects: [
          { type: "dirtree", checksum: "e".repeat(64) },
          { type: "file", checksum: "f".repeat(64) },
        ],
      },
    ],
    fallbacks: [
      { type: "file", checksum: "9".repeat(64), compressedSize: 5_000_000, uncompressedSize: 9_000_000 },
    ],
    bigEndian,
  };
}

describe("superblock", () => {
  for (const be of [false, true]) {
    it(`round-trips (${be ? "big" : "little"}-endian sizes)`, () => {
      const sb = sampleSuperblock(be);
      const back = decodeSuperblock(encodeSuperblock(sb));
      expect(back).toEqual(sb);
    });
  }
  it("guesses the byte order of old superblocks without ostree.endianness", () => {
    for (const be of [false, true]) {
      const sb = { ...sampleSuperblock(be), metadata: [] };
      const back = decodeSuperblock(encodeSuperblock(sb));
      expect(back.bigEndian).toBe(be);
      expect(back.endiannessGuessed).toBe(true);
      expect(back.parts[0]!.compressedSize).toBe(123456);
    }
  });
  it("refuses an embedded commit that does not hash to `to`", () => {
    const sb = { ...sampleSuperblock(false), to: "0".repeat(64) };
    expect(() => decodeSuperblock(encodeSuperblock(sb))).toThrow(/embedded commit hashes to/);
  });
  it("refuses a truncated superblock and an object list of the wrong length", () => {
    const bytes = encodeSuperblock(sampleSuperblock(false));
    expect(() => decodeSuperblock(bytes.subarray(0, bytes.length - 9))).toThrow(
      /OBJECT_CORRUPT|Invalid static delta/,
    );
    const sb = sampleSuperblock(false);
    sb.parts[0]!.objects = [{ type: "commitmeta", checksum: "e".repeat(64) }];
    expect(() => decodeSuperblock(encodeSuperblock(sb))).toThrow(/cannot be in a delta/);
  });
  it("unwraps a signed superblock (taya{sv}) and leaves plain ones alone", () => {
    const inner = encodeSuperblock(sampleSuperblock(false));
    const signed = wrapSignedSuperblock(inner, [
      ["ostree.sign.dummy", new Variant("aay", [Uint8Array.of(1)])],
    ]);
    expect(Buffer.from(signed.subarray(0, 8)).toString("latin1")).toBe("OSTSGNDT");
    expect(Buffer.from(unwrapSignedSuperblock(signed)!.superblock)).toEqual(Buffer.from(inner));
    expect(unwrapSignedSuperblock(inner)).toBeNull();
    expect(decodeSuperblock(signed).to).toBe(sampleSuperblock(false).to);
  });
});

const payload: PartPayload = {
  modes: [{ uid: 0, gid: 0, mode: 0o100644 }],
  xattrs: [[["user.a", Uint8Array.of(1, 2)]]],
  blob: new TextEncoder().encode("hello world"),
  ops: Uint8Array.of(0x53, 0, 0, 5, 0),
};

function header(file: Uint8Array, uncompressedSize = 5) {
  return {
    version: 0,
    checksum: sha256Hex(file),
    compressedSize: file.length,
    uncompressedSize,
    objects: [],
  };
}

describe("part files", () => {
  it("round-trip, xz-compressed and plain", async () => {
    for (const compress of [true, false]) {
      const file = await encodePartFile(payload, compress);
      expect(file[0]).toBe(compress ? 0x78 : 0);
      expect(await openPart(file, header(file), 0)).toEqual(payload);
    }
  });
  it("refuse a wrong SHA-256, a size lie, an unknown compression and bad payloads", async () => {
    const file = await encodePartFile(payload);
    await expect(openPart(file, { ...header(file), checksum: "0".repeat(64) }, 3)).rejects.toThrow(
      /part 3 checksum is/,
    );
    await expect(openPart(file, { ...header(file), compressedSize: 1 }, 0)).rejects.toThrow(
      /the superblock says 1/,
    );
    const odd = Uint8Array.from(file);
    odd[0] = 0x7a;
    await expect(openPart(odd, header(odd), 0)).rejects.toThrow(/unknown compression type 122/);
    const junk = Uint8Array.of(0x78, 1, 2, 3);
    await expect(openPart(junk, header(junk), 0)).rejects.toThrow(/decompress/);
    expect(() => decodePartPayload(Uint8Array.of(1, 2, 3))).toThrow(/Invalid static delta part/);
  });
  it("stop decompressing past what the part's objects can need (xz bomb)", async () => {
    const xz = execFileSync("xz", ["-0", "-c", "--format=xz"], { input: Buffer.alloc(24 * 1024 * 1024) });
    const file = Buffer.concat([Buffer.of(0x78), xz]);
    expect(file.length).toBeLessThan(100_000);
    await expect(openPart(file, header(file, 10), 0)).rejects.toThrow(/exceeds/);
  });
});
