import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumToBytes, sha256Hex } from "../../../src/core/checksum.js";
import {
  type Commit,
  contentChecksum,
  decodeCommit,
  decodeDirmeta,
  decodeDirtree,
  decodeVarDict,
  encodeCommit,
  encodeDirmeta,
  encodeDirtree,
  encodeTombstone,
  lookup,
  setKey,
} from "../../../src/core/metadata.js";
import { isArborError } from "../../../src/errors.js";
import { bswap32, bswap64, COMMIT, DIRMETA, DIRTREE, VARDICT } from "../../../src/gvariant/formats.js";
import { type GVValue, serialize, Variant } from "../../../src/gvariant/serialize.js";

const enc = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const CS = (c: string): string => c.repeat(64).slice(0, 64);
const raw = (n: number, fill = 0xab): Uint8Array => new Uint8Array(n).fill(fill);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isArborError(e)) return e.code;
    throw e;
  }
  return undefined;
}

/** A dirtree built directly with the codec, bypassing encodeDirtree's sorting. */
function rawDirtree(
  files: Array<[string, Uint8Array]>,
  dirs: Array<[string, Uint8Array, Uint8Array]> = [],
): Uint8Array {
  return serialize(DIRTREE, [files, dirs]);
}

describe("dirtree", () => {
  it("sorts entries by strcmp and round-trips", () => {
    const t = {
      files: [
        { name: "b", checksum: CS("1") },
        { name: "B", checksum: CS("2") },
        { name: "é", checksum: CS("3") },
        { name: "a", checksum: CS("4") },
      ],
      dirs: [
        { name: "z", tree: CS("5"), meta: CS("6") },
        { name: "empty", tree: CS("7"), meta: CS("8") },
      ],
    };
    const d = decodeDirtree(encodeDirtree(t));
    expect(d.files.map((f) => f.name)).toEqual(["B", "a", "b", "é"]);
    expect(d.dirs.map((f) => f.name)).toEqual(["empty", "z"]);
    expect(d.files[0]!.checksum).toBe(CS("2"));
  });

  it("hashes the empty tree to OSTree's well-known checksum", () => {
    expect(sha256Hex(encodeDirtree({ files: [], dirs: [] }))).toBe(
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    );
  });

  const bad: Array<[string, Uint8Array]> = [
    ["..", rawDirtree([["..", raw(32)]])],
    [".", rawDirtree([[".", raw(32)]])],
    ["a/b", rawDirtree([["a/b", raw(32)]])],
    ["empty name", rawDirtree([["", raw(32)]])],
    ["dir ..", rawDirtree([], [["..", raw(32), raw(32)]])],
    ["dir a/b", rawDirtree([], [["a/b", raw(32), raw(32)]])],
    [
      "duplicate file",
      rawDirtree([
        ["a", raw(32)],
        ["a", raw(32)],
      ]),
    ],
    [
      "duplicate dir",
      rawDirtree(
        [],
        [
          ["d", raw(32), raw(32)],
          ["d", raw(32), raw(32)],
        ],
      ),
    ],
    [
      "unsorted files",
      rawDirtree([
        ["b", raw(32)],
        ["a", raw(32)],
      ]),
    ],
    [
      "unsorted by bytes",
      rawDirtree([
        ["a", raw(32)],
        ["B", raw(32)],
      ]),
    ],
    [
      "unsorted dirs",
      rawDirtree(
        [],
        [
          ["y", raw(32), raw(32)],
          ["x", raw(32), raw(32)],
        ],
      ),
    ],
    ["file and dir", rawDirtree([["x", raw(32)]], [["x", raw(32), raw(32)]])],
    ["31-byte file checksum", rawDirtree([["a", raw(31)]])],
    ["33-byte file checksum", rawDirtree([["a", raw(33)]])],
    ["31-byte tree checksum", rawDirtree([], [["d", raw(31), raw(32)]])],
    ["33-byte meta checksum", rawDirtree([], [["d", raw(32), raw(33)]])],
    ["not a dirtree", new Uint8Array([1, 2, 3])],
  ];
  for (const [what, bytes] of bad) {
    it(`rejects ${what}`, () => expect(code(() => decodeDirtree(bytes))).toBe("OBJECT_CORRUPT"));
  }

  it("rejects a name with a NUL (the codec refuses it in a string)", () => {
    // "a\0b" as s: the bytes "a 00 b 00" — the codec sees an interior NUL
    const ok = rawDirtree([["axb", raw(32)]]);
    ok[1] = 0;
    expect(code(() => decodeDirtree(ok))).toBe("OBJECT_CORRUPT");
  });
});

describe("dirmeta", () => {
  it("round-trips and stores big-endian fields", () => {
    const m = {
      uid: 1000,
      gid: 100,
      mode: 0o42775,
      xattrs: [["user.x", enc.encode("1")] as [string, Uint8Array]],
    };
    const b = encodeDirmeta(m);
    expect(hex(b.subarray(0, 12))).toBe("000003e8" + "00000064" + "000045fd");
    expect(decodeDirmeta(b)).toEqual(m);
  });

  it("rejects non-directory modes", () => {
    for (const mode of [0o100644, 0o120777, 0o010755, 0o755, 0o1040755]) {
      expect(
        code(() => encodeDirmeta({ uid: 0, gid: 0, mode, xattrs: [] })),
        mode.toString(8),
      ).toBe("BAD_NAME");
      const b = serialize(DIRMETA, [0, 0, bswap32(mode), []]);
      expect(
        code(() => decodeDirmeta(b)),
        mode.toString(8),
      ).toBe("OBJECT_CORRUPT");
    }
    expect(code(() => decodeDirmeta(new Uint8Array(11)))).toBe("OBJECT_CORRUPT");
  });
});

describe("commit", () => {
  const c: Commit = {
    metadata: [
      ["version", new Variant("s", "1")],
      ["ostree.ref-binding", new Variant("as", ["b"])],
    ],
    parent: CS("a"),
    related: [],
    subject: "s",
    body: "b",
    timestamp: 1795641593,
    rootTree: CS("c"),
    rootMeta: CS("d"),
  };

  it("round-trips, with a big-endian timestamp", () => {
    const b = encodeCommit(c);
    expect(decodeCommit(b)).toEqual(c);
    expect(decodeCommit(encodeCommit({ ...c, parent: null })).parent).toBeNull();
  });

  it("computes the ContentChecksum from the root checksums", () => {
    const both = new Uint8Array([...checksumToBytes(c.rootTree), ...checksumToBytes(c.rootMeta)]);
    expect(contentChecksum(c)).toBe(sha256Hex(both));
  });

  function commitBytes(parent: Uint8Array, tree = raw(32), meta = raw(32), md: GVValue = []): Uint8Array {
    return serialize(COMMIT, [md, parent, [], "", "", bswap64(1n), tree, meta]);
  }

  it("rejects a parent checksum that is neither empty nor 32 bytes", () => {
    expect(code(() => decodeCommit(commitBytes(raw(32))))).toBeUndefined();
    for (const n of [1, 31, 33, 64])
      expect(
        code(() => decodeCommit(commitBytes(raw(n)))),
        `${n}`,
      ).toBe("OBJECT_CORRUPT");
  });

  it("rejects bad root checksums, empty metadata keys and garbage", () => {
    expect(code(() => decodeCommit(commitBytes(new Uint8Array(), raw(31))))).toBe("OBJECT_CORRUPT");
    expect(code(() => decodeCommit(commitBytes(new Uint8Array(), raw(32), raw(0))))).toBe("OBJECT_CORRUPT");
    const emptyKey = commitBytes(new Uint8Array(), raw(32), raw(32), [["", new Variant("s", "x")]]);
    expect(code(() => decodeCommit(emptyKey))).toBe("OBJECT_CORRUPT");
    expect(code(() => decodeCommit(new Uint8Array(7)))).toBe("OBJECT_CORRUPT");
  });
});

describe("vardict and tombstones", () => {
  it("looks up the first match and replaces in place", () => {
    const d = decodeVarDict(
      serialize(VARDICT, [
        ["a", new Variant("i", 1)],
        ["a", new Variant("i", 2)],
      ]),
    );
    expect(lookup(d, "a")?.value).toBe(1);
    expect(lookup(d, "b")).toBeUndefined();
    expect(setKey(d, "a", new Variant("i", 3)).map(([, v]) => v.value)).toEqual([3, 2]);
    expect(setKey(d, "b", new Variant("i", 4)).map(([k]) => k)).toEqual(["a", "a", "b"]);
  });

  it("encodes a tombstone as the fact sheet shows", () => {
    const cs = `2838${"0".repeat(56)}6d48`;
    const b = encodeTombstone(cs);
    expect(hex(b)).toBe(
      `${hex(enc.encode("commit\0"))}00${hex(enc.encode(`${cs}\0`))}00${hex(enc.encode("ay"))}074d`,
    );
  });
});

describe("decoders on hostile bytes", () => {
  it("throw only ArborError (OBJECT_CORRUPT)", () => {
    const seeds = [
      encodeCommit({
        metadata: [["k", new Variant("s", "v")]],
        parent: null,
        related: [],
        subject: "x",
        body: "",
        timestamp: 0,
        rootTree: CS("1"),
        rootMeta: CS("2"),
      }),
      encodeDirtree({
        files: [{ name: "a", checksum: CS("3") }],
        dirs: [{ name: "d", tree: CS("4"), meta: CS("5") }],
      }),
      encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [["user.a", enc.encode("b")]] }),
    ];
    const decoders = [decodeCommit, decodeDirtree, decodeDirmeta, decodeVarDict];
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        (seed, sets, cut) => {
          const b = Uint8Array.from(seed);
          for (const [p, v] of sets) b[p % b.length] = v;
          const input = b.subarray(0, b.length - (cut % 3));
          for (const d of decoders) {
            try {
              d(input);
            } catch (e) {
              if (!isArborError(e, "OBJECT_CORRUPT")) throw e;
            }
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
