import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeUserMeta } from "../../../src/core/content-header.js";
import { type LinkKind, native } from "../../../src/io/native.js";
import { makeTmpDir, probeUserXattrs } from "./_helpers.js";

let root: string;
let cleanup: () => void;
let xattrs: { ok: boolean; reason: string };
let seq = 0;

beforeAll(() => {
  ({ dir: root, cleanup } = makeTmpDir("arbor-cf-"));
  xattrs = probeUserXattrs(root);
});
afterAll(() => cleanup());

/** A fresh objects dir and destination dir. */
function dirs(): { objects: string; dest: string } {
  const base = join(root, `t${seq++}`);
  fs.mkdirSync(join(base, "objects"), { recursive: true });
  fs.mkdirSync(join(base, "dest"));
  return { objects: join(base, "objects"), dest: join(base, "dest") };
}

/** Store an object under a made-up checksum; returns the checksum. */
function put(
  objects: string,
  make: (path: string) => void,
  meta?: { mode: number; xattrs?: Array<[string, Uint8Array]> },
): string {
  const cs = createHash("sha256").update(`object ${seq++}`).digest("hex");
  fs.mkdirSync(join(objects, cs.slice(0, 2)), { recursive: true });
  const path = join(objects, cs.slice(0, 2), `${cs.slice(2)}.file`);
  make(path);
  if (meta) {
    const h = { uid: 0, gid: 0, mode: meta.mode, symlinkTarget: "", xattrs: meta.xattrs ?? [] };
    native().lsetxattr(path, "user.ostreemeta", encodeUserMeta(h));
  }
  return cs;
}

const data = (content: string | Uint8Array) => (p: string) => fs.writeFileSync(p, content);

async function run(
  objects: string,
  dest: string,
  files: Array<{ name: string; checksum: string }>,
  kind: LinkKind,
): Promise<number[]> {
  return [...(await native().checkoutFiles(objects, dest, files, kind))];
}

describe("native checkoutFiles: arguments", () => {
  it("rejects bad arguments with TypeError/RangeError, synchronously", () => {
    const n = native() as unknown as Record<string, (...a: unknown[]) => unknown>;
    const call =
      (...a: unknown[]) =>
      () =>
        n.checkoutFiles!(...a);
    expect(call("/o", "/d", [])).toThrow(expect.objectContaining({ code: "ERR_MISSING_ARGS" }));
    expect(call("/o", "/d", {}, 0)).toThrow(TypeError);
    expect(call("/o", "/d", [], 3)).toThrow(RangeError);
    expect(call("/o", "/d", [], -1)).toThrow(RangeError);
    expect(call("/o\0x", "/d", [], 0)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    expect(call(42, "/d", [], 0)).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }));
  });

  it("resolves with no statuses for no files, and leaves odd entries to the caller", async () => {
    const { objects, dest } = dirs();
    expect(await run(objects, dest, [], 0)).toEqual([]);
    const good = put(objects, data("x"));
    const odd = [
      null,
      "str",
      { name: "a" },
      { name: "b", checksum: good.toUpperCase() },
      { name: "c", checksum: good.slice(1) },
      { name: "d", checksum: `${good.slice(0, 63)}g` },
      { name: 7, checksum: good },
    ] as unknown as Array<{ name: string; checksum: string }>;
    expect(await run(objects, dest, odd, 0)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(fs.readdirSync(dest)).toEqual([]);
  });
});

describe("native checkoutFiles: bare (kind 0)", () => {
  it("hardlinks regular files with data and symlinks; leaves empty, missing and existing ones", async () => {
    const { objects, dest } = dirs();
    const reg = put(objects, data("hello"));
    const sym = put(objects, (p) => fs.symlinkSync("../target", p));
    const empty = put(objects, data(""));
    const missing = "ab".repeat(32);
    const taken = put(objects, data("other"));
    fs.writeFileSync(join(dest, "taken"), "mine");
    const st = await run(
      objects,
      dest,
      [
        { name: "reg", checksum: reg },
        { name: "sym", checksum: sym },
        { name: "empty", checksum: empty },
        { name: "missing", checksum: missing },
        { name: "taken", checksum: taken },
      ],
      0,
    );
    expect(st).toEqual([1, 1, 0, 0, 0]);
    const obj = (cs: string) => join(objects, cs.slice(0, 2), `${cs.slice(2)}.file`);
    expect(fs.statSync(join(dest, "reg")).ino).toBe(fs.statSync(obj(reg)).ino);
    expect(fs.lstatSync(join(dest, "sym")).ino).toBe(fs.lstatSync(obj(sym)).ino);
    expect(fs.readFileSync(join(dest, "taken"), "utf8")).toBe("mine");
    expect(fs.readdirSync(dest).sort()).toEqual(["reg", "sym", "taken"]);
  });

  it("never writes outside destDir: names '.', '..', '', 'a/b' are left to the caller", async () => {
    const { objects, dest } = dirs();
    const reg = put(objects, data("x"));
    const names = [".", "..", "", "a/b", "../escape", "x\0y"];
    const st = await run(
      objects,
      dest,
      names.map((name) => ({ name, checksum: reg })),
      0,
    );
    expect(st).toEqual(names.map(() => 0));
    expect(fs.readdirSync(dest)).toEqual([]);
    expect(fs.existsSync(join(dest, "..", "escape"))).toBe(false);
  });

  it("does not follow a symlink already at the destination name", async () => {
    const { objects, dest } = dirs();
    const reg = put(objects, data("x"));
    const outside = join(dest, "..", "outside");
    fs.symlinkSync(outside, join(dest, "f"));
    expect(await run(objects, dest, [{ name: "f", checksum: reg }], 0)).toEqual([0]);
    expect(fs.existsSync(outside)).toBe(false);
  });

  it("leaves everything when destDir does not exist", async () => {
    const { objects, dest } = dirs();
    const reg = put(objects, data("x"));
    expect(await run(objects, join(dest, "nope"), [{ name: "f", checksum: reg }], 0)).toEqual([0]);
  });
});

describe("native checkoutFiles: bare-user (kind 1)", () => {
  it("links plain regular files and makes symlinks; leaves the rest", async (ctx) => {
    ctx.skip(!xattrs.ok, xattrs.reason);
    const { objects, dest } = dirs();
    const reg = put(objects, data("hello"), { mode: 0o100644 });
    const sym = put(objects, data("usr/bin\0"), { mode: 0o120777 });
    const withXattr = put(objects, data("x"), {
      mode: 0o100644,
      xattrs: [["security.capability", new Uint8Array([1, 2, 3])]],
    });
    const unreadable = put(objects, data("x"), { mode: 0o100200 });
    const empty = put(objects, data(""), { mode: 0o100644 });
    const noMeta = put(objects, data("x"));
    const dirMode = put(objects, data("x"), { mode: 0o040755 });
    const symNoNul = put(objects, data("usr/bin"), { mode: 0o120777 });
    const symInnerNul = put(objects, data("a\0b\0"), { mode: 0o120777 });
    const symBadUtf8 = put(objects, data(new Uint8Array([0x61, 0xff, 0x62, 0])), { mode: 0o120777 });
    const symEmpty = put(objects, data("\0"), { mode: 0o120777 });
    const realSymlink = put(objects, (p) => fs.symlinkSync("x", p));
    const entries: Array<[string, string]> = [
      ["reg", reg],
      ["sym", sym],
      ["xattr", withXattr],
      ["unreadable", unreadable],
      ["empty", empty],
      ["nometa", noMeta],
      ["dirmode", dirMode],
      ["symnonul", symNoNul],
      ["syminnernul", symInnerNul],
      ["symbadutf8", symBadUtf8],
      ["symempty", symEmpty],
      ["realsymlink", realSymlink],
    ];
    const st = await run(
      objects,
      dest,
      entries.map(([name, checksum]) => ({ name, checksum })),
      1,
    );
    expect(Object.fromEntries(entries.map(([n], i) => [n, st[i]]))).toEqual({
      reg: 1,
      sym: 2,
      xattr: 0,
      unreadable: 0,
      empty: 0,
      nometa: 0,
      dirmode: 0,
      symnonul: 0,
      syminnernul: 0,
      symbadutf8: 0,
      symempty: 0,
      realsymlink: 0,
    });
    expect(fs.readlinkSync(join(dest, "sym"))).toBe("usr/bin");
    expect(fs.readdirSync(dest).sort()).toEqual(["reg", "sym"]);
  });

  it("leaves a symlink whose name is taken", async (ctx) => {
    ctx.skip(!xattrs.ok, xattrs.reason);
    const { objects, dest } = dirs();
    const sym = put(objects, data("t\0"), { mode: 0o120777 });
    fs.writeFileSync(join(dest, "s"), "mine");
    expect(await run(objects, dest, [{ name: "s", checksum: sym }], 1)).toEqual([0]);
    expect(fs.readFileSync(join(dest, "s"), "utf8")).toBe("mine");
  });
});

describe("native checkoutFiles: bare-user-only (kind 2)", () => {
  it("links readable regular files with data only", async () => {
    const { objects, dest } = dirs();
    const reg = put(objects, data("x"));
    const unreadable = put(objects, (p) => {
      fs.writeFileSync(p, "x");
      fs.chmodSync(p, 0o200);
    });
    const sym = put(objects, (p) => fs.symlinkSync("x", p));
    const empty = put(objects, data(""));
    const st = await run(
      objects,
      dest,
      [
        { name: "reg", checksum: reg },
        { name: "unreadable", checksum: unreadable },
        { name: "sym", checksum: sym },
        { name: "empty", checksum: empty },
      ],
      2,
    );
    expect(st).toEqual([1, 0, 0, 0]);
  });
});

/** checkoutDirs for one directory `dir` made below `root`: its statuses, or the error making it. */
async function makeAndCheckout(
  objects: string,
  dir: string,
  files: Array<{ name: string; checksum: string }>,
  root: string,
): Promise<Uint8Array> {
  const [r] = await native().checkoutDirs!(objects, [[dir, files]], 0, root);
  if (r instanceof Error) throw r;
  return r!;
}

describe("native checkoutDirs: making the directory (mkdirRoot)", () => {
  it("makes the directory, and its parents below the root when its batch runs first", async () => {
    const { objects, dest } = dirs();
    const reg = put(objects, data("deep"));
    const deep = join(dest, "a", "b", "c");
    expect([...(await makeAndCheckout(objects, deep, [{ name: "f", checksum: reg }], dest))]).toEqual([1]);
    expect(fs.readFileSync(join(deep, "f"), "utf8")).toBe("deep");
    for (const d of ["a", "a/b", "a/b/c"]) expect(fs.statSync(join(dest, d)).mode & 0o7777).toBe(0o700);
    // the parents' own batches then find their directory made: fine, and their files linked
    const other = put(objects, data("mid"));
    expect([
      ...(await makeAndCheckout(objects, join(dest, "a", "b"), [{ name: "g", checksum: other }], dest)),
    ]).toEqual([1]);
    expect(fs.readFileSync(join(dest, "a/b/g"), "utf8")).toBe("mid");
    // no files: the directory alone
    await makeAndCheckout(objects, join(dest, "empty"), [], dest);
    expect(fs.statSync(join(dest, "empty")).isDirectory()).toBe(true);
  });

  it("rejects naming mkdir when the directory cannot be made, and links nothing", async () => {
    const { objects, dest } = dirs();
    const reg = put(objects, data("x"));
    fs.writeFileSync(join(dest, "file"), "");
    await expect(
      makeAndCheckout(objects, join(dest, "file"), [{ name: "f", checksum: reg }], dest),
    ).rejects.toMatchObject({ code: "EEXIST", syscall: "mkdir", path: join(dest, "file") });
    await expect(
      makeAndCheckout(objects, join(dest, "file", "sub"), [{ name: "f", checksum: reg }], dest),
    ).rejects.toMatchObject({ syscall: "mkdir" });
  });

  it("never makes a parent through a symlink below the root", async () => {
    const { objects, dest } = dirs();
    const outside = join(dest, "..", "outside");
    fs.mkdirSync(outside);
    fs.symlinkSync(outside, join(dest, "link"));
    const reg = put(objects, data("x"));
    await expect(
      makeAndCheckout(objects, join(dest, "link", "x", "y"), [{ name: "f", checksum: reg }], dest),
    ).rejects.toMatchObject({ syscall: "mkdir" });
    expect(fs.readdirSync(outside)).toEqual([]);
    // and a symlink named as the directory itself is not a directory made
    await expect(
      makeAndCheckout(objects, join(dest, "link"), [{ name: "f", checksum: reg }], dest),
    ).rejects.toMatchObject({ code: "EEXIST", syscall: "mkdir" });
    expect(fs.readdirSync(outside)).toEqual([]);
  });
});

describe("native checkoutDirs", () => {
  it("makes and fills several directories in one trip, each with its own outcome", async () => {
    const { objects, dest } = dirs();
    const a = put(objects, data("a"));
    const b = put(objects, data("b"));
    fs.writeFileSync(join(dest, "taken"), "");
    const r = await native().checkoutDirs!(
      objects,
      [
        [join(dest, "x"), [{ name: "fa", checksum: a }]],
        [
          join(dest, "x", "y"),
          [
            { name: "fb", checksum: b },
            { name: "..", checksum: b },
          ],
        ],
        [join(dest, "taken"), [{ name: "fc", checksum: a }]],
        [join(dest, "z"), []],
      ],
      0,
      dest,
    );
    expect(r.map((x) => (x instanceof Error ? (x as NodeJS.ErrnoException).code : [...x]))).toEqual([
      [1],
      [1, 0],
      "EEXIST",
      [],
    ]);
    expect(fs.readFileSync(join(dest, "x/y/fb"), "utf8")).toBe("b");
    expect(fs.statSync(join(dest, "z")).isDirectory()).toBe(true);
  });

  it("refuses bad arguments synchronously", () => {
    const n = native() as unknown as Record<string, (...a: unknown[]) => unknown>;
    const call =
      (...a: unknown[]) =>
      () =>
        n.checkoutDirs!(...a);
    expect(call("/o", [])).toThrow(expect.objectContaining({ code: "ERR_MISSING_ARGS" }));
    expect(call("/o", {}, 0)).toThrow(TypeError);
    expect(call("/o", [["/d"]], 0)).toThrow(/dirs\[0\] must be \[destDir, files\]/);
    expect(call("/o", [["/d", {}]], 0)).toThrow(TypeError);
    expect(call("/o", [], 3)).toThrow(RangeError);
    expect(call("/o", [["/d", []]], 0, 42)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
    );
  });
});
