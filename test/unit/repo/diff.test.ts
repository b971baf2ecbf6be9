import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { encodeDirmeta, encodeDirtree } from "../../../src/core/metadata.js";
import { ArborError } from "../../../src/errors.js";
import { native } from "../../../src/io/native.js";
import { checkoutTree } from "../../../src/repo/checkout.js";
import { commitTree } from "../../../src/repo/commit.js";
import { diffStats, diffTreeAgainstDir, diffTrees } from "../../../src/repo/diff.js";
import { Repo, type RepoMode } from "../../../src/repo/repo.js";

let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-diff-")));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Write a tree: string = file content, {link} = symlink, object = directory. */
type Spec = { [name: string]: string | { link: string } | Spec };
function writeTree(dir: string, spec: Spec): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, v] of Object.entries(spec)) {
    const p = join(dir, name);
    if (typeof v === "string") fs.writeFileSync(p, v);
    else if ("link" in v && typeof v.link === "string") fs.symlinkSync(v.link, p);
    else writeTree(p, v as Spec);
  }
  return dir;
}

async function commitDir(repo: Repo, dir: string, branch: string): Promise<string> {
  const r = await commitTree(repo, { trees: [{ kind: "dir", path: dir }], branch, timestamp: 1700000000 });
  return r.commit;
}

function makeRepo(mode: RepoMode = "archive"): Repo {
  return Repo.create(join(tmp, `repo-${mode}`), { mode });
}

const base: Spec = { top: "z\n", a: { f: "x\n", l: { link: "f" }, b: { g: "y\n" } }, c: { k: "q\n" } };

describe("diffTrees() between commits", () => {
  it("reports nothing for identical commits", async () => {
    const repo = makeRepo();
    const a = await commitDir(repo, writeTree(join(tmp, "t1"), base), "one");
    const d = await diffTrees(repo, a, "one");
    expect(d).toEqual({ modified: [], removed: [], added: [] });
  });

  it("lists modified, removed and added paths in ostree's order with what changed", async () => {
    const repo = makeRepo();
    writeTree(join(tmp, "t1"), base);
    await commitDir(repo, join(tmp, "t1"), "one");
    const t2 = writeTree(join(tmp, "t2"), {
      top: "z\n",
      aa: "zz\n",
      a: { f: "changed\n", l: { link: "other" }, b: { g: "y\n", deep: { h: "h" } } },
      new: { x: "n2\n", sub: { deeper: { file: "n\n" } } },
    });
    fs.chmodSync(join(t2, "top"), 0o755);
    await commitDir(repo, t2, "two");
    const d = await diffTrees(repo, "one", "two");
    expect(d.modified).toEqual([
      { path: "/top", changes: ["mode"] },
      { path: "/a/f", changes: ["content"] },
      { path: "/a/l", changes: ["target"] },
    ]);
    // A removed directory is listed alone; an added one is followed by its contents.
    expect(d.removed).toEqual(["/c"]);
    // Additions inside common directories come before the parent's own additions.
    expect(d.added).toEqual([
      "/a/b/deep",
      "/a/b/deep/h",
      "/aa",
      "/new",
      "/new/x",
      "/new/sub",
      "/new/sub/deeper",
      "/new/sub/deeper/file",
    ]);
  });

  it("reports a type change as modified without descending", async () => {
    const repo = makeRepo();
    await commitDir(repo, writeTree(join(tmp, "t1"), { x: "file", d: { inner: "1" } }), "one");
    await commitDir(repo, writeTree(join(tmp, "t2"), { x: { inside: "1" }, d: "now a file" }), "two");
    const d = await diffTrees(repo, "one", "two");
    expect(d.modified).toEqual([
      { path: "/x", changes: ["type"] },
      { path: "/d", changes: ["type"] },
    ]);
    expect(d.removed).toEqual([]);
    expect(d.added).toEqual([]);
  });

  it("reports a directory whose mode changed, then its changed children", async () => {
    const repo = makeRepo();
    await commitDir(repo, writeTree(join(tmp, "t1"), { d: { f: "1" } }), "one");
    const t2 = writeTree(join(tmp, "t2"), { d: { f: "2" } });
    fs.chmodSync(join(t2, "d"), 0o700);
    await commitDir(repo, t2, "two");
    const d = await diffTrees(repo, "one", "two");
    expect(d.modified).toEqual([
      { path: "/d", changes: ["mode"] },
      { path: "/d/f", changes: ["content"] },
    ]);
  });

  it("skips identical subtrees without reading them", async () => {
    const repo = makeRepo();
    const big: Spec = {};
    for (let i = 0; i < 50; i++) big[`f${i}`] = `${i}`;
    await commitDir(repo, writeTree(join(tmp, "t1"), { same: big, x: "1" }), "one");
    await commitDir(repo, writeTree(join(tmp, "t2"), { same: big, x: "2" }), "two");
    // Remove the shared subtree's dirtree: a diff that read it would fail.
    const c = repo.loadCommit(fs.readFileSync(join(repo.path, "refs/heads/one"), "utf8").trim());
    const sub = repo.loadDirtree(c.rootTree).dirs.find((x) => x.name === "same")!;
    fs.rmSync(repo.objectPath(sub.tree, "dirtree"));
    const d = await diffTrees(repo, "one", "two");
    expect(d.modified).toEqual([{ path: "/x", changes: ["content"] }]);
  });

  it("refuses a hostile tree nested deeper than any real path", async () => {
    const repo = makeRepo();
    // Written straight into objects/ (a Transaction is slow for 2000 objects and not the point).
    const put = (type: "dirtree" | "dirmeta", bytes: Uint8Array): string => {
      const cs = sha256Hex(bytes);
      const p = repo.objectPath(cs, type);
      fs.mkdirSync(dirname(p), { recursive: true });
      fs.writeFileSync(p, bytes);
      return cs;
    };
    const meta = put("dirmeta", encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] }));
    const empty = put("dirtree", encodeDirtree({ files: [], dirs: [] }));
    let tree = empty;
    for (let i = 0; i < 2100; i++)
      tree = put("dirtree", encodeDirtree({ files: [], dirs: [{ name: "d", tree, meta }] }));
    const err = await diffTrees(
      repo,
      { kind: "tree", tree: empty, meta },
      { kind: "tree", tree, meta },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArborError);
    expect((err as ArborError).code).toBe("OBJECT_CORRUPT");
    expect((err as ArborError).message.length).toBeLessThan(300);
  });
});

describe("diffTreeAgainstDir()", () => {
  async function setup(mode: RepoMode = "archive"): Promise<{ repo: Repo; co: string }> {
    const repo = makeRepo(mode);
    await commitDir(repo, writeTree(join(tmp, "t1"), base), "one");
    const co = join(tmp, "co");
    await checkoutTree(repo, { rev: "one", dest: co });
    return { repo, co };
  }

  it("finds nothing in a fresh checkout", async () => {
    const { repo, co } = await setup();
    expect(await diffTreeAgainstDir(repo, "one", co)).toEqual({ modified: [], removed: [], added: [] });
    expect(await diffTreeAgainstDir(repo, "one", co, { quick: true })).toEqual({
      modified: [],
      removed: [],
      added: [],
    });
  });

  it("explains content, mode, owner, xattr and symlink target changes", async () => {
    const { repo, co } = await setup();
    fs.writeFileSync(join(co, "top"), "Z\n"); // same size, other data
    fs.chmodSync(join(co, "a/f"), 0o600);
    fs.unlinkSync(join(co, "a/l"));
    fs.symlinkSync("elsewhere", join(co, "a/l"));
    fs.rmSync(join(co, "c/k"));
    fs.writeFileSync(join(co, "c/k"), "q\n");
    native().lsetxattr(join(co, "c/k"), "user.test", new Uint8Array([1]));
    fs.mkdirSync(join(co, "newdir"));
    fs.writeFileSync(join(co, "newdir/n"), "n");
    fs.rmSync(join(co, "a/b"), { recursive: true });
    const d = await diffTreeAgainstDir(repo, "one", co);
    const byPath = Object.fromEntries(d.modified.map((m) => [m.path, m.changes]));
    expect(byPath).toEqual({
      "/top": ["content"],
      "/a/f": ["mode"],
      "/a/l": ["target"],
      "/c/k": ["xattrs"],
    });
    expect(d.removed).toEqual(["/a/b"]);
    expect(d.added).toEqual(["/newdir", "/newdir/n"]);
    fs.mkdirSync(join(co, "a/b"));
    fs.writeFileSync(join(co, "a/b/g"), "y\n");
    fs.lchownSync(join(co, "a/b/g"), 4321, 4321);
    const d2 = await diffTreeAgainstDir(repo, "one", co);
    expect(d2.modified.find((m) => m.path === "/a/b/g")?.changes).toEqual(["owner"]);
    // --owner-uid/--owner-gid override what is on disk.
    const d3 = await diffTreeAgainstDir(repo, "one", co, { ownerUid: 0, ownerGid: 0 });
    expect(d3.modified.find((m) => m.path === "/a/b/g")).toBeUndefined();
  });

  it("with noXattrs reads none from disk, so stored xattrs show as changed (as ostree)", async () => {
    const repo = makeRepo("bare");
    const t1 = writeTree(join(tmp, "t1"), { f: "1" });
    native().lsetxattr(join(t1, "f"), "user.k", new Uint8Array([0x31]));
    await commitDir(repo, t1, "one");
    expect((await diffTreeAgainstDir(repo, "one", t1)).modified).toEqual([]);
    expect((await diffTreeAgainstDir(repo, "one", t1, { noXattrs: true })).modified).toEqual([
      { path: "/f", changes: ["xattrs"] },
    ]);
  });

  it("in quick mode compares sizes and metadata only, never data", async () => {
    const { repo, co } = await setup();
    fs.writeFileSync(join(co, "top"), "Z\n"); // same size: not seen in quick mode
    fs.writeFileSync(join(co, "c/k"), "longer\n");
    fs.chmodSync(join(co, "a/f"), 0o600);
    const d = await diffTreeAgainstDir(repo, "one", co, { quick: true });
    expect(d.modified).toEqual([
      { path: "/a/f", changes: ["mode"] },
      { path: "/c/k", changes: ["content"] },
    ]);
    const full = await diffTreeAgainstDir(repo, "one", co);
    expect(full.modified.map((m) => m.path)).toEqual(["/top", "/a/f", "/c/k"]);
  });

  it("sees no change in a hard-linked checkout of a bare repository", async () => {
    const repo = makeRepo("bare");
    await commitDir(repo, writeTree(join(tmp, "t1"), base), "one");
    const co = join(tmp, "co");
    await checkoutTree(repo, { rev: "one", dest: co });
    expect(fs.statSync(join(co, "top")).nlink).toBeGreaterThan(1);
    expect(await diffTreeAgainstDir(repo, "one", co)).toEqual({ modified: [], removed: [], added: [] });
  });

  it("lists entries on disk in GLib's order (by inode within a directory)", async () => {
    const { repo, co } = await setup();
    const names = Array.from({ length: 40 }, (_, i) => `n${(i * 7919) % 97}`);
    for (const n of names) fs.writeFileSync(join(co, n), n);
    const d = await diffTreeAgainstDir(repo, "one", co);
    const byInode = names
      .map((n) => ({ n: `/${n}`, ino: fs.lstatSync(join(co, n)).ino }))
      .sort((x, y) => x.ino - y.ino)
      .map((x) => x.n);
    expect(d.added).toEqual(byInode);
  });

  it("compares two directories on disk", async () => {
    const a = writeTree(join(tmp, "da"), { f: "1", g: "same", d: { x: "1" } });
    const b = writeTree(join(tmp, "db"), { f: "2", g: "same", e: "new" });
    const repo = makeRepo();
    const d = await diffTrees(repo, { kind: "dir", path: a }, { kind: "dir", path: b });
    expect(d.modified).toEqual([{ path: "/f", changes: ["content"] }]);
    expect(d.removed).toEqual(["/d"]);
    expect(d.added).toEqual(["/e"]);
  });

  it("names a missing directory", async () => {
    const repo = makeRepo();
    await commitDir(repo, writeTree(join(tmp, "t1"), base), "one");
    await expect(diffTreeAgainstDir(repo, "one", join(tmp, "nope"))).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining("nope"),
    });
  });
});

describe("diffStats()", () => {
  it("counts reachable and shared objects and their stored size", async () => {
    const repo = makeRepo("bare");
    await commitDir(repo, writeTree(join(tmp, "t1"), { a: "1", d: { b: "22" } }), "one");
    await commitDir(repo, writeTree(join(tmp, "t2"), { a: "1", d: { b: "22" }, c: "333" }), "two");
    const s = diffStats(repo, "one", "two");
    // one: commit, 2 dirtrees, 1 dirmeta, 2 files; two: commit, 2 dirtrees, 1 dirmeta, 3 files
    expect(s.objectsA).toBe(6);
    expect(s.objectsB).toBe(7);
    // shared: dirmeta, the /d dirtree, files a and b
    expect(s.commonObjects).toBe(4);
    expect(s.commonSize).toBeGreaterThan(3);
  });
});
