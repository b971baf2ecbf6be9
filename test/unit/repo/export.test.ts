import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { list as tarList } from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { native } from "../../../src/io/native.js";
import { checkoutTree } from "../../../src/repo/checkout.js";
import { commitTree } from "../../../src/repo/commit.js";
import { exportTar } from "../../../src/repo/export.js";
import { Repo } from "../../../src/repo/repo.js";

let tmp: string;
let repo: Repo;
const TS = 1700000123;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-export-")));
  repo = Repo.create(join(tmp, "repo"), { mode: "bare" });
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const longDir = "d".repeat(120);
async function makeCommit(): Promise<string> {
  const t = join(tmp, "t");
  fs.mkdirSync(join(t, "a/b"), { recursive: true });
  fs.mkdirSync(join(t, longDir), { recursive: true });
  fs.writeFileSync(join(t, "top"), "z\n");
  fs.writeFileSync(join(t, "a/f"), "x\n");
  fs.symlinkSync("f", join(t, "a/l"));
  fs.writeFileSync(join(t, "a/b/g"), Buffer.alloc(70000, 7));
  fs.writeFileSync(join(t, longDir, "f".repeat(110)), "long");
  fs.symlinkSync("t".repeat(150), join(t, "longlink"));
  fs.writeFileSync(join(t, "suid"), "s");
  fs.lchownSync(join(t, "suid"), 3000000, 5); // before chmod: chown clears setuid
  fs.chmodSync(join(t, "suid"), 0o4755);
  native().lsetxattr(join(t, "top"), "user.k", new TextEncoder().encode("v"));
  const r = await commitTree(repo, { trees: [{ kind: "dir", path: t }], branch: "main", timestamp: TS });
  return r.commit;
}

interface Entry {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkpath: string;
}

/** Read entries with node-tar, an independent implementation. */
async function entries(file: string): Promise<Entry[]> {
  const out: Entry[] = [];
  await tarList({
    file,
    onReadEntry: (e) => {
      out.push({
        path: e.path,
        type: e.type,
        mode: e.mode ?? -1,
        uid: e.uid ?? -1,
        gid: e.gid ?? -1,
        size: e.size,
        mtime: Math.floor((e.mtime?.getTime() ?? 0) / 1000),
        linkpath: e.linkpath ?? "",
      });
    },
  });
  return out;
}

describe("exportTar()", () => {
  it("writes the tree in ostree's order with owners, modes, links and the commit time", async () => {
    await makeCommit();
    const file = join(tmp, "out.tar");
    const r = await exportTar(repo, "main", { output: file });
    const es = await entries(file);
    expect(r.entries).toBe(es.length);
    expect(es.map((e) => `${e.type} ${e.path}`)).toEqual([
      "Directory ./",
      "SymbolicLink longlink",
      "File suid",
      "File top",
      "Directory a/",
      "File a/f",
      "SymbolicLink a/l",
      "Directory a/b/",
      "File a/b/g",
      `Directory ${longDir}/`,
      `File ${longDir}/${"f".repeat(110)}`,
    ]);
    const byPath = Object.fromEntries(es.map((e) => [e.path, e]));
    expect(byPath.suid).toMatchObject({ mode: 0o4755, uid: 3000000, gid: 5, size: 1 });
    expect(byPath.longlink).toMatchObject({ mode: 0o777 });
    // node-tar reads the GNU long link target wrongly (it keeps the header's truncated copy); GNU tar:
    const gnu = execFileSync("tar", ["-tvf", file], { encoding: "utf8" });
    expect(gnu).toContain(`longlink -> ${"t".repeat(150)}\n`);
    expect(byPath["a/b/g"]).toMatchObject({ size: 70000 });
    expect(new Set(es.map((e) => e.mtime))).toEqual(new Set([TS]));
  });

  it("extracts to the same files as a checkout", async () => {
    await makeCommit();
    const file = join(tmp, "out.tar");
    await exportTar(repo, "main", { output: file });
    const x = join(tmp, "x");
    fs.mkdirSync(x);
    execFileSync("tar", ["-xf", file, "-C", x, "--numeric-owner"]);
    const co = join(tmp, "co");
    await checkoutTree(repo, { rev: "main", dest: co });
    const listing = (root: string) =>
      execFileSync("find", [".", "-printf", "%P %s %#m %U/%G %y %l\\n"], { cwd: root, encoding: "utf8" })
        .split("\n")
        .sort()
        .join("\n");
    expect(listing(x)).toBe(listing(co));
    expect(fs.readFileSync(join(x, "a/b/g"))).toEqual(fs.readFileSync(join(co, "a/b/g")));
  });

  it("applies a subpath and a plain-string prefix as ostree does", async () => {
    await makeCommit();
    const file = join(tmp, "sub.tar");
    await exportTar(repo, "main", { output: file, subpath: "/a", prefix: "root/" });
    expect((await entries(file)).map((e) => e.path)).toEqual([
      "root/",
      "root/f",
      "root/l",
      "root/b/",
      "root/b/g",
    ]);
    await exportTar(repo, "main", { output: file, subpath: "a/b", prefix: "p-" });
    expect((await entries(file)).map((e) => e.path)).toEqual(["p-/", "p-g"]);
  });

  it("ends with two zero blocks, padded to a 10240-byte record for streams, not for files", async () => {
    await makeCommit();
    const file = join(tmp, "a.tar");
    await exportTar(repo, "main", { output: file, subpath: "a" });
    // a/ (1 block), f (2), l (1), b/ (1), g (1 + 137 data blocks), two zero blocks
    const bytes = fs.readFileSync(file);
    expect(bytes.length).toBe(512 * (1 + 2 + 1 + 1 + 1 + 137 + 2));
    expect(bytes.subarray(-1024).every((b) => b === 0)).toBe(true);
    const chunks: Uint8Array[] = [];
    await exportTar(repo, "main", { output: { write: (c) => void chunks.push(c.slice()) } });
    const total = chunks.reduce((n, c) => n + c.length, 0);
    expect(total % 10240).toBe(0);
    const s = new PassThrough();
    const got: Buffer[] = [];
    s.on("data", (c: Buffer) => got.push(c));
    await exportTar(repo, "main", { output: s });
    expect(Buffer.concat(got)).toEqual(Buffer.from(Buffer.concat(chunks.map((c) => Buffer.from(c)))));
  });

  it("adds xattrs as PAX records only when asked", async () => {
    await makeCommit();
    const plain = join(tmp, "plain.tar");
    const withX = join(tmp, "x.tar");
    await exportTar(repo, "main", { output: plain });
    await exportTar(repo, "main", { output: withX, xattrs: true });
    expect(fs.readFileSync(plain).includes("SCHILY.xattr")).toBe(false);
    const x = join(tmp, "xx");
    fs.mkdirSync(x);
    execFileSync("tar", ["--xattrs", "--xattrs-include=user.*", "-xf", withX, "-C", x]);
    expect(Buffer.from(native().lgetxattr(join(x, "top"), "user.k")!).toString()).toBe("v");
    expect((await entries(withX)).map((e) => e.path)).toEqual((await entries(plain)).map((e) => e.path));
  });

  it("names a missing subpath and refuses a file as subpath", async () => {
    await makeCommit();
    const file = join(tmp, "o.tar");
    await expect(exportTar(repo, "main", { output: file, subpath: "nope" })).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("nope"),
    });
    await expect(exportTar(repo, "main", { output: file, subpath: "top" })).rejects.toMatchObject({
      code: "USAGE",
    });
  });
});
