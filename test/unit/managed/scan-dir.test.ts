import { closeSync, linkSync, lstatSync, mkdirSync, openSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasNative, native } from "../../../src/io/native.js";
import { DirScanner, SCAN_FIELDS, type ScanLists, scanDirJs } from "../../../src/managed/scan-dir.js";
import { tempDir } from "../../helpers/cli.js";

const cs = (c: string) => c.repeat(64);

describe("scanDir (drift's per-directory lstats)", () => {
  let t: ReturnType<typeof tempDir>;
  let dir: string;
  let fd = -1;
  const obj = () => ({ prefix: `${t.dir}/objects/`, suffix: ".file" });
  const objectsFd = () => {
    fd = openSync(join(t.dir, "objects"), "r");
    return fd;
  };
  beforeEach(() => {
    t = tempDir("arbor-scan-dir-");
    dir = join(t.dir, "d");
    mkdirSync(dir);
    for (const p of ["aa", "bb", "cc"]) mkdirSync(join(t.dir, "objects", p), { recursive: true });
    // shared: the deployed file is its object
    writeFileSync(join(t.dir, "objects/aa", `${cs("a").slice(2)}.file`), "shared\n");
    linkSync(join(t.dir, "objects/aa", `${cs("a").slice(2)}.file`), join(dir, "shared"));
    // copy: same content, another inode
    writeFileSync(join(t.dir, "objects/bb", `${cs("b").slice(2)}.file`), "copy\n");
    writeFileSync(join(dir, "copy"), "copy\n");
    // object missing (cs c), a symlink, a non-ASCII name, a subdirectory, an unexpected name
    writeFileSync(join(dir, "no-object"), "x");
    symlinkSync("shared", join(dir, "link"));
    writeFileSync(join(dir, "é-ü"), "u");
    mkdirSync(join(dir, "sub"), { mode: 0o750 });
    writeFileSync(join(dir, "zz-extra"), "?");
    mkdirSync(join(dir, "extra-dir"));
    writeFileSync(join(dir, "file-not-dir"), "f");
    writeFileSync(join(dir, "bad-checksum"), "b");
  });
  afterEach(() => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
    t.cleanup();
  });

  const lists: ScanLists = {
    files: [
      { name: "shared", checksum: cs("a") },
      { name: "copy", checksum: cs("b") },
      { name: "no-object", checksum: cs("c") },
      { name: "link", checksum: cs("a") },
      { name: "é-ü", checksum: cs("b") },
      { name: "gone", checksum: cs("a") },
      { name: "bad-checksum", checksum: "xyz" },
    ],
    dirs: [{ name: "sub" }, { name: "gone-dir" }, { name: "file-not-dir" }],
  };
  const size = (lists.files.length + lists.dirs.length) * SCAN_FIELDS;
  const at = (r: Float64Array, i: number) => Array.from(r.subarray(i * SCAN_FIELDS, (i + 1) * SCAN_FIELDS));

  function expectScan(r: Float64Array, extra: string[]): void {
    expect([...extra].sort()).toEqual(["extra-dir", "zz-extra"]);
    expect(r[6 * SCAN_FIELDS]).toBeGreaterThan(0); // bad-checksum is there
    const st = (p: string) => lstatSync(join(dir, p));
    const ob = (c: string) => lstatSync(join(t.dir, "objects", c.slice(0, 2), `${c.slice(2)}.file`));
    const head = (p: string) => {
      const s = st(p);
      return [s.dev, s.ino, s.mode, Math.floor(s.mtimeMs), s.uid, s.gid];
    };
    const fileAt = (i: number) => {
      const v = at(r, i);
      v[3] = Math.floor(v[3]!);
      return v;
    };
    expect(fileAt(0)).toEqual([...head("shared"), ob(cs("a")).dev, ob(cs("a")).ino]);
    expect(fileAt(0)[7]).toBe(fileAt(0)[1]); // same inode: shared
    expect(fileAt(1)).toEqual([...head("copy"), ob(cs("b")).dev, ob(cs("b")).ino]);
    expect(fileAt(2).slice(0, 6)).toEqual(head("no-object"));
    expect(fileAt(2)[6]).toBe(-1);
    expect(fileAt(3).slice(0, 6)).toEqual(head("link")); // not followed
    expect(fileAt(4).slice(0, 6)).toEqual(head("é-ü"));
    expect(fileAt(5)[0]).toBe(-1);
    expect(fileAt(5)[6]).toBe(0); // absent file: its object is not looked at
    expect(fileAt(6)[6]).toBe(-2); // not a checksum: the caller decides
    const n = lists.files.length;
    expect(fileAt(n).slice(0, 6)).toEqual(head("sub"));
    expect(fileAt(n)[6]).toBe(0);
    expect(fileAt(n + 1)[0]).toBe(-1);
    expect(fileAt(n + 2).slice(0, 6)).toEqual(head("file-not-dir"));
  }

  it("in plain Node: entries, objects, absences and unexpected names", () => {
    const r = new Float64Array(size);
    expectScan(r, scanDirJs(dir, lists, obj(), r));
  });

  it.skipIf(!hasNative())("natively: the same answer as plain Node", () => {
    const a = new Float64Array(size).fill(7);
    const b = new Float64Array(size).fill(7);
    const extra = native().scanDir!(dir, lists.files, lists.dirs, objectsFd(), ".file", a)!;
    expectScan(a, extra);
    scanDirJs(dir, lists, obj(), b);
    expect(Array.from(a)).toEqual(Array.from(b));
    const scanner = new DirScanner(obj());
    expect(scanner.scan(dir, lists, new Float64Array(size))).toEqual(extra);
    scanner.close();
  });

  it("throws the system error for a directory that cannot be read", () => {
    const r = new Float64Array(size);
    const scanner = new DirScanner(obj());
    expect(() => scanner.scan(join(t.dir, "absent"), lists, r)).toThrow(/ENOENT/);
    expect(() => scanner.scan(join(dir, "copy"), lists, r)).toThrow(/ENOTDIR/);
    scanner.close();
    if (hasNative())
      expect(native().scanDir!(join(t.dir, "absent"), [], [], objectsFd(), ".file", r)).toBeNull();
  });

  it.skipIf(!hasNative())("natively: rejects bad arguments, never writes past `out`", () => {
    const n = native();
    const r = new Float64Array(size - 1);
    const ofd = objectsFd();
    expect(() => n.scanDir!(dir, lists.files, lists.dirs, ofd, ".file", r)).toThrow(RangeError);
    const bad = n.scanDir as unknown as (...a: unknown[]) => unknown;
    expect(() => bad(dir, "files", [], ofd, ".file", r)).toThrow(TypeError);
    expect(() => bad(dir, [], [], ofd, ".file", new Uint8Array(8))).toThrow(TypeError);
    expect(() => bad(dir, [], [], "objects/", ".file", r)).toThrow(TypeError);
    expect(() => bad(dir, [], [], -1, ".file", r)).toThrow(TypeError);
    expect(() => bad(dir, [], [])).toThrow(TypeError);
    // a NUL would make the C side open (or lstat objects under) another path than the one given
    expect(() => bad(`${dir}\0/../..`, [], [], ofd, ".file", r)).toThrow(/without NUL/);
    expect(() => bad(dir, [], [], ofd, ".file\0x", r)).toThrow(/without NUL/);
    expect(() => bad(dir, [], [], ofd, "/../../x", r)).toThrow(/objectSuffix/);
    expect(() => bad(dir, [], [], ofd, "x".repeat(64), r)).toThrow(/objectSuffix/);
    // entries that are not {name: string} are reported as errors, not crashes
    const out = new Float64Array(2 * SCAN_FIELDS);
    expect(bad(dir, [{ name: 5 }], [null], ofd, ".file", out)).toBeInstanceOf(Array);
    expect([out[0], out[SCAN_FIELDS]]).toEqual([-2, -2]);
  });
});
