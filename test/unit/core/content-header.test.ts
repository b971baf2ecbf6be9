import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checksumContent,
  contentHasher,
  contentStreamPrefix,
  decodeArchiveHeader,
  decodeFileHeader,
  decodeUserMeta,
  encodeArchiveHeader,
  encodeFileHeader,
  encodeUserMeta,
  type FileHeader,
  normalizeXattrs,
  splitFramedHeader,
  xattrsFromGV,
  xattrsToGV,
} from "../../../src/core/content-header.js";
import { isArborError } from "../../../src/errors.js";

const enc = new TextEncoder();
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const reg = (mode = 0o100644, extra: Partial<FileHeader> = {}): FileHeader => ({
  uid: 0,
  gid: 0,
  mode,
  symlinkTarget: "",
  xattrs: [],
  ...extra,
});

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isArborError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe("content checksums (fact sheet §2.5)", () => {
  it("hashes the worked example a.txt byte for byte", () => {
    const h = reg();
    // length 0x12 | 4 zero bytes | uid, gid, mode 0100644, rdev | "" | empty xattrs, offset 0x11
    const want = ["00000012", "00000000", "00000000", "00000000", "000081a4", "00000000", "00", "11"];
    expect(hex(contentStreamPrefix(h))).toBe(want.join(""));
    expect(checksumContent(h, enc.encode("hello\n"))).toBe(
      "44f778e59f0a4748d6b0c90a47347212a231c4ad1e8f7ea5c5dffc7749153a6b",
    );
  });

  it("matches the spec's symlink, 0600 file and xattr examples", () => {
    const link = checksumContent(reg(0o120777, { symlinkTarget: "a.txt" }));
    expect(link.startsWith("f379a4b3") && link.endsWith("b535")).toBe(true);
    const x = checksumContent(reg(0o100600), enc.encode("x"));
    expect(x.startsWith("0dc0b8ef") && x.endsWith("5fc2")).toBe(true);
    const xa = checksumContent(
      reg(0o100644, {
        uid: 1000,
        gid: 100,
        xattrs: [
          ["user.aa", enc.encode("1\0")],
          ["user.zz", enc.encode("2")],
        ],
      }),
      enc.encode("a"),
    );
    expect(xa.startsWith("a2000a4b") && xa.endsWith("7e33")).toBe(true);
  });

  it("hashes incrementally to the same name", () => {
    const h = reg(0o100755, { uid: 5, gid: 6 });
    const data = enc.encode("0123456789".repeat(1000));
    const inc = contentHasher(h);
    for (let i = 0; i < data.length; i += 777) inc.update(data.subarray(i, i + 777));
    expect(inc.digest("hex")).toBe(checksumContent(h, data));
  });

  it("rejects headers OSTree cannot represent", () => {
    expect(code(() => encodeFileHeader(reg(0o120777)))).toBe("OBJECT_CORRUPT"); // symlink without target
    expect(code(() => encodeFileHeader(reg(0o100644, { symlinkTarget: "x" })))).toBe("OBJECT_CORRUPT");
    expect(code(() => encodeFileHeader(reg(0o040755)))).toBe("OBJECT_CORRUPT");
    expect(code(() => encodeFileHeader(reg(0o010644)))).toBe("OBJECT_CORRUPT"); // fifo
    expect(code(() => encodeFileHeader(reg(0o1100644)))).toBe("OBJECT_CORRUPT"); // stray high bit
    expect(code(() => encodeFileHeader(reg(0o104755)))).toBeUndefined(); // setuid is fine
  });
});

describe("xattrs", () => {
  it("sort by name bytes (strcmp) and carry a NUL after the name only", () => {
    const x = normalizeXattrs([
      ["user.b", enc.encode("2")],
      ["user.B", enc.encode("3")],
      ["user.a", enc.encode("1")],
      ["security.x", new Uint8Array()],
    ]);
    expect(x.map(([n]) => n)).toEqual(["security.x", "user.B", "user.a", "user.b"]);
    const gv = xattrsToGV(x) as Uint8Array[][];
    expect(hex(gv[1]![0]!)).toBe(`${hex(enc.encode("user.B"))}00`);
    expect(hex(gv[1]![1]!)).toBe("33");
    expect(xattrsFromGV(gv)).toEqual(x);
  });

  it("reject empty, duplicate and NUL-containing names", () => {
    expect(code(() => normalizeXattrs([["", new Uint8Array()]]))).toBe("BAD_NAME");
    expect(
      code(() =>
        normalizeXattrs([
          ["user.a", new Uint8Array()],
          ["user.a", new Uint8Array([1])],
        ]),
      ),
    ).toBe("BAD_NAME");
    expect(code(() => normalizeXattrs([["user.a\0b", new Uint8Array()]]))).toBe("BAD_NAME");
    expect(code(() => xattrsToGV([["user.a\0b", new Uint8Array()]]))).toBe("BAD_NAME");
    // on decode: a NUL inside the name, a missing terminator, an empty name
    expect(code(() => xattrsFromGV([[enc.encode("a\0b\0"), new Uint8Array()]]))).toBe("OBJECT_CORRUPT");
    expect(code(() => xattrsFromGV([[enc.encode("ab"), new Uint8Array()]]))).toBe("OBJECT_CORRUPT");
    expect(code(() => xattrsFromGV([[enc.encode("\0"), new Uint8Array()]]))).toBe("OBJECT_CORRUPT");
    expect(code(() => xattrsFromGV([[new Uint8Array([0xff, 0]), new Uint8Array()]]))).toBe("OBJECT_CORRUPT");
  });
});

describe("headers", () => {
  const h = reg(0o100640, { uid: 1000, gid: 100, xattrs: [["user.k", enc.encode("v")]] });

  it("round-trip the file header, with every integer big-endian", () => {
    const b = encodeFileHeader(h);
    expect(hex(b.subarray(0, 16))).toBe("000003e8" + "00000064" + "000081a0" + "00000000");
    expect(decodeFileHeader(b)).toEqual(h);
  });

  it("round-trip the archive (.filez) header with its big-endian size", () => {
    const framed = encodeArchiveHeader(h, 0x0102030405);
    const { header, dataOffset } = splitFramedHeader(framed, "x");
    expect(dataOffset).toBe(framed.length);
    expect(new DataView(framed.buffer).getUint32(0, false)).toBe(header.length);
    expect(hex(header.subarray(0, 8))).toBe("0000000102030405");
    expect(decodeArchiveHeader(header)).toEqual({ header: h, size: 0x0102030405 });
  });

  it("round-trip bare-user metadata", () => {
    expect(decodeUserMeta(encodeUserMeta(h))).toEqual({
      uid: 1000,
      gid: 100,
      mode: 0o100640,
      xattrs: h.xattrs,
    });
  });

  it("report malformed headers as OBJECT_CORRUPT", () => {
    expect(code(() => decodeFileHeader(new Uint8Array([1, 2, 3])))).toBe("OBJECT_CORRUPT");
    expect(code(() => decodeArchiveHeader(new Uint8Array(5)))).toBe("OBJECT_CORRUPT");
    expect(code(() => decodeUserMeta(new Uint8Array(3)))).toBe("OBJECT_CORRUPT");
    expect(code(() => splitFramedHeader(new Uint8Array(4), "x"))).toBe("OBJECT_CORRUPT");
    const big = new Uint8Array(12);
    new DataView(big.buffer).setUint32(0, 100, false);
    expect(code(() => splitFramedHeader(big, "x"))).toBe("OBJECT_CORRUPT");
    // non-zero rdev
    const b = encodeFileHeader(h);
    b[15] = 1;
    expect(code(() => decodeFileHeader(b))).toBe("OBJECT_CORRUPT");
  });
});

const HAVE_OSTREE = (() => {
  try {
    execFileSync("ostree", ["--version"], { stdio: "ignore" });
    execFileSync("setfattr", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!HAVE_OSTREE)("checksumContent() against ostree checksum", () => {
  let dir: string;
  let xattrsOk = false;
  beforeAll(() => {
    dir = fs.mkdtempSync(join(tmpdir(), "arbor-ch-"));
    fs.writeFileSync(join(dir, "probe"), "");
    try {
      execFileSync("setfattr", ["-n", "user.p", "-v", "1", join(dir, "probe")], { stdio: "ignore" });
      xattrsOk = true;
    } catch {}
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("agrees on files with unsorted xattrs, owners, modes and symlinks", (ctx) => {
    if (!xattrsOk || process.getuid?.() !== 0) ctx.skip();
    const f = join(dir, "f");
    fs.writeFileSync(f, "payload\n");
    fs.chownSync(f, 1234, 567); // before chmod: chown clears the setuid bit
    fs.chmodSync(f, 0o4751);
    // set in non-sorted order; a value with a NUL and one empty value
    for (const [n, v] of [
      ["user.zeta", "0x7a00"],
      ["user.Alpha", "0x"],
      ["user.beta", "0x01ff"],
    ] as const) {
      execFileSync("setfattr", ["-n", n, "-v", v === "0x" ? '""' : v, f]);
    }
    const ours = checksumContent(
      {
        uid: 1234,
        gid: 567,
        mode: 0o104751,
        symlinkTarget: "",
        // ostree reads no xattr whose value is empty (user.Alpha): such an xattr is not hashed
        xattrs: normalizeXattrs([
          ["user.zeta", new Uint8Array([0x7a, 0])],
          ["user.beta", new Uint8Array([1, 0xff])],
        ]),
      },
      enc.encode("payload\n"),
    );
    expect(execFileSync("ostree", ["checksum", f]).toString().trim()).toBe(ours);
    const l = join(dir, "l");
    fs.symlinkSync("some/target", l);
    expect(execFileSync("ostree", ["checksum", l]).toString().trim()).toBe(
      checksumContent({ uid: 0, gid: 0, mode: 0o120777, symlinkTarget: "some/target", xattrs: [] }),
    );
  });
});
