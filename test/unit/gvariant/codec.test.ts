import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { checksumContent } from "../../../src/core/content-header.js";
import { encodeCommit, encodeDirmeta, encodeDirtree } from "../../../src/core/metadata.js";
import { isArborError } from "../../../src/errors.js";
import { deserialize, isNormalForm } from "../../../src/gvariant/deserialize.js";
import { VARDICT } from "../../../src/gvariant/formats.js";
import { type GVValue, Just, serialize, Variant } from "../../../src/gvariant/serialize.js";
import { printVariant } from "../../../src/gvariant/text.js";
import { isObjectPath, isSignature, parseType } from "../../../src/gvariant/type.js";
import { arbTyped, HAVE_OSTREE, OstreeScratch } from "./_arb.js";

const enc = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

/** The checksum matches the spec's abbreviated `prefix…suffix`. */
function matchesAbbrev(full: string, abbrev: string): boolean {
  const [a, b] = abbrev.split("…") as [string, string];
  return full.startsWith(a) && full.endsWith(b);
}

describe("GVariant codec", () => {
  it("round-trips generated values and always writes normal form", () => {
    fc.assert(
      fc.property(arbTyped, ({ type, value }) => {
        const b = serialize(type, value);
        expect(deserialize(type, b)).toEqual(value);
        expect(isNormalForm(type, b)).toBe(true);
        // fixed-size types have exactly their size
        const t = parseType(type);
        if (t.fixedSize !== null) expect(b.length).toBe(t.fixedSize);
      }),
      { numRuns: 1500 },
    );
  });

  it("encodes the spec's worked examples (fact sheet §1.7 a–f) byte for byte", () => {
    // (a) root dirmeta
    const rootMeta = encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });
    expect(hex(rootMeta)).toBe(`${"00000000".repeat(2)}000041ed`);
    expect(matchesAbbrev(sha256Hex(rootMeta), "446a0ef1…5488")).toBe(true);
    // (b) dirmeta with an xattr: the name carries its NUL, the value does not
    const m = encodeDirmeta({ uid: 1000, gid: 100, mode: 0o40755, xattrs: [["user.dir", enc.encode("v")]] });
    expect(hex(m)).toBe("000003e8" + "00000064" + "000041ed" + "757365722e64697200" + "76" + "09" + "0b");
    expect(matchesAbbrev(sha256Hex(m), "e6074675…b8e9")).toBe(true);
    // (c) dirtree with one file "x"
    const xsum = checksumContent(
      { uid: 0, gid: 0, mode: 0o100600, symlinkTarget: "", xattrs: [] },
      enc.encode("x"),
    );
    expect(matchesAbbrev(xsum, "0dc0b8ef…5fc2")).toBe(true);
    const t1 = encodeDirtree({ files: [{ name: "x", checksum: xsum }], dirs: [] });
    expect(hex(t1)).toBe(`7800${xsum}022324`);
    expect(matchesAbbrev(sha256Hex(t1), "902a1eae…63d2")).toBe(true);
    // (d) dirtree with a.txt, link and dir sub (holding the tree of (c), root-owned 0755)
    const asum = checksumContent(
      { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] },
      enc.encode("hello\n"),
    );
    const lsum = checksumContent({ uid: 0, gid: 0, mode: 0o120777, symlinkTarget: "a.txt", xattrs: [] });
    expect(matchesAbbrev(lsum, "f379a4b3…b535")).toBe(true);
    const rootMetaSum = sha256Hex(rootMeta);
    const t2 = encodeDirtree({
      files: [
        { name: "link", checksum: lsum },
        { name: "a.txt", checksum: asum },
      ],
      dirs: [{ name: "sub", tree: sha256Hex(t1), meta: rootMetaSum }],
    });
    expect(t2.length).toBe(151);
    expect(hex(t2.subarray(0x4d, 0x4f))).toBe("274d");
    expect(hex(t2.subarray(0x95))).toBe("464f");
    expect(matchesAbbrev(sha256Hex(t2), "335badc0…d8ca")).toBe(true);
    // (e) commit
    const c = encodeCommit({
      metadata: [["ostree.ref-binding", new Variant("as", ["test"])]],
      parent: null,
      related: [],
      subject: "first",
      body: "",
      timestamp: 1577836800,
      rootTree: sha256Hex(t2),
      rootMeta: rootMetaSum,
    });
    expect(c.length).toBe(126);
    expect(hex(c.subarray(0x18, 0x23))).toBe(`${hex(enc.encode("test"))}000500${hex(enc.encode("as"))}1322`);
    expect(hex(c.subarray(0x30, 0x38))).toBe("000000005e0be100");
    expect(hex(c.subarray(0x78))).toBe("582a29232323");
    expect(matchesAbbrev(sha256Hex(c), "81965dd8…5201")).toBe(true);
    // (f) a{sv}
    const f = serialize(VARDICT, [["foo", new Variant("s", "bar")]]);
    expect(hex(f)).toBe("666f6f00" + "00000000" + "62617200" + "00" + "73" + "04" + "0f");
  });

  it("encodes maybes, unit and variants as GLib reads them (§1.7 g, corrected)", () => {
    expect(hex(serialize("(msmuas)", ["hi", 7, ["a", "bc"]]))).toBe(
      "68690000" + "07000000" + "6100626300" + "0205" + "0804",
    );
    expect(hex(serialize("()", []))).toBe("00");
    expect(hex(serialize("v", new Variant("(ii)", [1, 2])))).toBe("0100000002000000" + "00" + "28696929");
    // the fact sheet's "07 61 62 00" is wrong: the non-last maybe needs its end offset
    expect(hex(serialize("(mymay)", [7, enc.encode("ab")]))).toBe("0761620001");
    expect(deserialize("(mymay)", bytes("0761620001"))).toEqual([7, enc.encode("ab")]);
    expect(isNormalForm("(mymay)", bytes("07616200"))).toBe(false);
    expect(hex(serialize("mmi", new Just(null)))).toBe("00");
    expect(deserialize("mmi", bytes("00"))).toEqual(new Just(null));
    expect(deserialize("mmi", new Uint8Array())).toBeNull();
    expect(deserialize("mmi", bytes("0500000000"))).toBe(5);
  });

  it("picks the framing-offset width at the 255/256 and 65535/65536 byte boundaries", () => {
    // (ayay): body B plus one offset; w = 1 while B + 1 <= 0xff, 2 while B + 2 <= 0xffff, then 4
    const cases: Array<[number, number, number]> = [
      [254, 1, 255],
      [255, 2, 257],
      [65533, 2, 65535],
      [65534, 4, 65538],
    ];
    for (const [body, width, total] of cases) {
      const a = new Uint8Array(body - 1).fill(0x41);
      const v: GVValue = [a, new Uint8Array([0x42])];
      const b = serialize("(ayay)", v);
      expect(b.length, `body ${body}`).toBe(total);
      const off = b.subarray(b.length - width);
      expect(off.reduce((acc, x, i) => acc + x * 256 ** i, 0)).toBe(body - 1);
      expect(deserialize("(ayay)", b)).toEqual(v);
      expect(isNormalForm("(ayay)", b)).toBe(true);
    }
    // arrays: offsets count per element
    const strs = (n: number, len: number): string[] => Array.from({ length: n }, () => "x".repeat(len - 1));
    expect(serialize("as", strs(127, 1)).length).toBe(254); // 127 + 127 → 1-byte offsets
    expect(serialize("as", strs(128, 1)).length).toBe(128 + 256); // 128 + 128 = 256 → 2-byte offsets
  });

  it("rejects values that do not fit the type", () => {
    const bad: Array<[string, unknown]> = [
      ["y", 256],
      ["n", 0x8000],
      ["u", -1],
      ["i", 1.5],
      ["t", -1n],
      ["x", 2n ** 63n],
      ["s", "a\0b"],
      ["s", "\ud800"],
      ["o", "a/b"],
      ["o", "/a/"],
      ["g", "m"],
      ["b", 1],
      ["ay", [1]],
      ["(ii)", [1]],
      ["v", 5],
    ];
    for (const [t, v] of bad) {
      expect(() => serialize(t, v as GVValue), t).toThrow(
        expect.objectContaining({ code: "GVARIANT_INVALID" }),
      );
    }
  });

  it("validates object paths and signatures", () => {
    for (const p of ["/", "/a", "/a/b_9", "/A/b/C"]) expect(isObjectPath(p), p).toBe(true);
    for (const p of ["", "a", "//", "/a/", "/a//b", "/a-b", "/é"]) expect(isObjectPath(p), p).toBe(false);
    for (const s of ["", "a{sv}", "(ii)as", "v", "a(ya{sv})"]) expect(isSignature(s), s).toBe(true);
    for (const s of ["m", "ms", "a", "(", "{ss", "{vs}", "z"]) expect(isSignature(s), s).toBe(false);
    expect(() => deserialize("o", enc.encode("a\0"))).toThrow(
      expect.objectContaining({ code: "GVARIANT_INVALID" }),
    );
    expect(() => deserialize("g", enc.encode("m\0"))).toThrow(
      expect.objectContaining({ code: "GVARIANT_INVALID" }),
    );
  });

  it("keeps a leading U+FEFF in strings and copies ay out of Buffers", () => {
    const b = serialize("(say)", ["\ufeffx", new Uint8Array([1, 2])]);
    const buf = Buffer.from(b);
    const [s, ay] = deserialize("(say)", buf) as [string, Uint8Array];
    expect(s).toBe("\ufeffx");
    expect(Buffer.isBuffer(ay)).toBe(false);
    buf[buf.length - 3] = 9; // mutate the input: the decoded value must not change
    expect(Array.from(ay)).toEqual([1, 2]);
    expect(isNormalForm("(say)", b)).toBe(true);
  });

  it("rejects non-normal encodings in isNormalForm", () => {
    expect(isNormalForm("b", bytes("02"))).toBe(false);
    expect(isNormalForm("(yu)", bytes("0101000001000000"))).toBe(false); // non-zero padding
    expect(isNormalForm("as", bytes("6100" + "0002"))).toBe(false); // 2 offsets for 1 element? table start 0
    expect(isNormalForm("(ss)", bytes("610062000200"))).toBe(false); // trailing byte / wrong width
    expect(isNormalForm("ai", bytes("010000"))).toBe(false);
    expect(isNormalForm("v", bytes(`0100000000${hex(enc.encode("i"))}`))).toBe(true);
    expect(isNormalForm("v", bytes(`010000000000${hex(enc.encode("i"))}`))).toBe(false); // child 5 bytes
    expect(isNormalForm("mi", bytes("0500000000"))).toBe(false); // Just of a fixed type has no 0 byte
  });

  it("limits nesting depth without blowing the stack", () => {
    // 200 nested variants: each level is "inner 00 'v'"
    let b: Uint8Array = serialize("i", 1);
    b = new Uint8Array([...b, 0, 0x69]);
    for (let i = 0; i < 200; i++) b = new Uint8Array([...b, 0, 0x76]);
    let err: unknown;
    try {
      deserialize("v", b);
    } catch (e) {
      err = e;
    }
    expect(isArborError(err, "GVARIANT_INVALID")).toBe(true);
  });
});

describe.skipIf(!HAVE_OSTREE)("GVariant codec against GLib (ostree show --print-variant-type)", () => {
  let scratch: OstreeScratch;
  beforeAll(() => {
    scratch = new OstreeScratch();
  });
  afterAll(() => scratch.cleanup());

  it("GLib reads the offset-width boundary encodings as the same values", () => {
    for (const body of [254, 255, 65533, 65534]) {
      const v: GVValue = [new Uint8Array(body - 1).fill(0x41), new Uint8Array([0x42])];
      expect(scratch.show("(ayay)", serialize("(ayay)", v)), `body ${body}`).toBe(printVariant("(ayay)", v));
    }
    const many = Array.from({ length: 300 }, (_, i) => `s${i}`);
    expect(scratch.show("as", serialize("as", many))).toBe(printVariant("as", many));
  });

  it("GLib reads (mymay) 07 61 62 00 01 as (7, b'ab')", () => {
    expect(scratch.show("(mymay)", bytes("0761620001"))).toBe("(@my 0x07, @may [0x61, 0x62])");
  });
});
