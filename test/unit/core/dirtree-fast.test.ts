import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeDirtreeFast } from "../../../src/core/dirtree-fast.js";
import { decodeDirtree, decodeDirtreeGeneric, encodeDirtree } from "../../../src/core/metadata.js";
import { isArborError } from "../../../src/errors.js";
import { DIRTREE } from "../../../src/gvariant/formats.js";
import { serialize } from "../../../src/gvariant/serialize.js";

const raw = (n: number, fill = 0xab): Uint8Array => new Uint8Array(n).fill(fill);
const rawDirtree = (
  files: Array<[string, Uint8Array]>,
  dirs: Array<[string, Uint8Array, Uint8Array]> = [],
): Uint8Array => serialize(DIRTREE, [files, dirs]);

/** The generic decoder's verdict: the dirtree, or the error code. */
function generic(b: Uint8Array): unknown {
  try {
    return decodeDirtreeGeneric(b);
  } catch (e) {
    if (isArborError(e)) return e.code;
    throw e;
  }
}

/** The fast reader must either step aside (null) or give exactly the generic result. */
function agrees(b: Uint8Array): boolean {
  const fast = decodeDirtreeFast(b);
  if (fast === null) return true;
  expect(fast).toEqual(generic(b));
  return true;
}

// (a NUL cannot be serialized in a name: mutations below put 0 bytes in)
const name = fc
  .oneof(
    fc.string({ minLength: 0, maxLength: 6 }),
    fc.string({ unit: "grapheme", maxLength: 4 }),
    fc.constantFrom(".", "..", "a/b", "", "\uFFFD", "é", "\u{1F600}"),
  )
  .map((s) => s.replaceAll("\0", "_"));
const bytes32 = fc.uint8Array({ minLength: 31, maxLength: 33 });

describe("decodeDirtreeFast", () => {
  it("reads valid dirtrees exactly as the generic decoder (1- and 2-byte offsets)", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 40 }),
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 10 }),
        (fileNames, dirNames) => {
          const ok = (n: string) => n !== "." && n !== ".." && !n.includes("/") && !n.includes("\0");
          const dn = dirNames.filter((n) => ok(n) && !fileNames.includes(n));
          const t = {
            files: fileNames
              .filter(ok)
              .map((n, i) => ({ name: n, checksum: (i % 10).toString().repeat(64) })),
            dirs: dn.map((n) => ({ name: n, tree: "a".repeat(64), meta: "b".repeat(64) })),
          };
          const b = encodeDirtree(t);
          const fast = decodeDirtreeFast(b);
          // names with U+FFFD may be left to the generic path; everything else must be read
          if (!JSON.stringify(t).includes("\uFFFD")) expect(fast).not.toBeNull();
          return agrees(b);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("reads a large dirtree (4-byte offsets) as the generic decoder", () => {
    const files = Array.from({ length: 3000 }, (_, i) => ({
      name: `file-${String(i).padStart(5, "0")}`,
      checksum: (i % 16).toString(16).repeat(64),
    }));
    const b = encodeDirtree({ files, dirs: [{ name: "sub", tree: "c".repeat(64), meta: "d".repeat(64) }] });
    expect(b.length).toBeGreaterThan(0xffff);
    const fast = decodeDirtreeFast(b);
    expect(fast).not.toBeNull();
    expect(fast).toEqual(decodeDirtreeGeneric(b));
  });

  it("reads the empty dirtree", () => {
    expect(decodeDirtreeFast(encodeDirtree({ files: [], dirs: [] }))).toEqual({ files: [], dirs: [] });
  });

  it("steps aside for every invalid dirtree (the generic path reports it)", () => {
    const bad = [
      rawDirtree([["..", raw(32)]]),
      rawDirtree([[".", raw(32)]]),
      rawDirtree([["a/b", raw(32)]]),
      rawDirtree([["", raw(32)]]),
      rawDirtree([], [["..", raw(32), raw(32)]]),
      rawDirtree([
        ["b", raw(32)],
        ["a", raw(32)],
      ]),
      rawDirtree([
        ["a", raw(32)],
        ["a", raw(32)],
      ]),
      rawDirtree([["x", raw(32)]], [["x", raw(32), raw(32)]]),
      rawDirtree([["a", raw(31)]]),
      rawDirtree([], [["d", raw(32), raw(33)]]),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(0),
    ];
    for (const b of bad) {
      expect(decodeDirtreeFast(b)).toBeNull();
      expect(generic(b)).toBe("OBJECT_CORRUPT");
      expect(() => decodeDirtree(b)).toThrow();
    }
  });

  it("steps aside for names that are not plain UTF-8 (invalid bytes, U+FFFD)", () => {
    const withName = (n: Uint8Array) => {
      const b = rawDirtree([["QQ", raw(32)]]);
      const at = Buffer.from(b).indexOf("QQ");
      b.set(n, at);
      return b;
    };
    expect(decodeDirtreeFast(withName(new Uint8Array([0x61, 0xff])))).toBeNull();
    expect(generic(withName(new Uint8Array([0x61, 0xff])))).toBe("OBJECT_CORRUPT");
    const fffd = rawDirtree([["\uFFFD", raw(32)]]);
    expect(decodeDirtreeFast(fffd)).toBeNull();
    expect(decodeDirtree(fffd).files[0]!.name).toBe("\uFFFD");
  });

  it("agrees with the generic decoder on arbitrary and mutated input", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, bytes32), { maxLength: 6 }),
        fc.array(fc.tuple(name, bytes32, bytes32), { maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.nat(),
        (files, dirs, sets, cut) => {
          const b = rawDirtree(files, dirs);
          agrees(b);
          const m = Uint8Array.from(b);
          for (const [p, v] of sets) if (m.length) m[p % m.length] = v;
          return agrees(m.subarray(0, m.length - (cut % 3)));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
