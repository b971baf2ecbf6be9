/**
 * A hardlink checkout into a fresh root, both ways it runs off the main thread: the native tree
 * walk (native/checkout_tree.c) and the bulk path (checkout-bulk.ts: directories made on the
 * thread pool, in groups), which checks out the subtrees the walk leaves (here: every one, their
 * dirmetas having xattrs). Either way, what goes wrong is reported as the file-by-file path
 * reports it, for the first directory in tree order.
 */
import { lstatSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeDirmeta, encodeDirtree } from "../../../src/core/metadata.js";
import { checkoutTree } from "../../../src/repo/checkout.js";
import { Repo } from "../../../src/repo/repo.js";
import { treeManifest } from "../../helpers/trees.js";
import { makeHistory, putCommit, putLooseMetadata, tmp } from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-co-bulk-");
});
afterEach(() => t.cleanup());

/**
 * A bare-user-only repo and a commit of `depth` nested directories named `name`, each beside an
 * empty `sibling`; with `xattrs`, every dirmeta has one (user mode ignores it; the native walk
 * leaves such directories to the bulk path).
 */
function deepCommit(depth: number, name: string, xattrs: boolean): { repo: Repo; commit: string } {
  const repo = Repo.create(join(t.dir, "repo"), { mode: "bare-user-only" });
  const put = (type: "dirtree" | "dirmeta", bytes: Uint8Array) => putLooseMetadata(repo, type, bytes);
  const meta = put(
    "dirmeta",
    encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: xattrs ? [["user.x", new Uint8Array([1])]] : [] }),
  );
  const empty = put("dirtree", encodeDirtree({ files: [], dirs: [] }));
  let tree = empty;
  for (let i = 0; i < depth; i++)
    tree = put(
      "dirtree",
      encodeDirtree({
        files: [],
        dirs: [
          { name, tree, meta },
          { name: "sibling", tree: empty, meta },
        ],
      }),
    );
  const commit = putCommit(repo, tree, meta, "deep");
  return { repo, commit };
}

describe.each([
  ["the native walk", false],
  ["the bulk path", true],
])("hardlink checkout into a fresh root: %s", (_, xattrs) => {
  it("makes every directory, with its final mode, across many groups", async () => {
    const { repo, commit } = deepCommit(40, "d", xattrs);
    const dest = join(t.dir, "co");
    const stats = await checkoutTree(repo, { rev: commit, dest, userMode: true });
    let p = dest;
    for (let i = 0; i < 40; i++) {
      expect(readdirSync(p).sort()).toEqual(["d", "sibling"]);
      expect(statSync(p).mode & 0o7777).toBe(0o755);
      expect(statSync(join(p, "sibling")).mode & 0o7777).toBe(0o755);
      p = join(p, "d");
    }
    expect(readdirSync(p)).toEqual([]);
    expect(stats.dirs).toBe(81);
  });

  it("reports the first directory it cannot make, in tree order, as the file-by-file path does", async () => {
    // 25 levels of 200-byte names: past PATH_MAX (4096) somewhere down the chain
    const { repo, commit } = deepCommit(25, "n".repeat(200), xattrs);
    const dest = join(t.dir, "co");
    const err = await checkoutTree(repo, { rev: commit, dest, userMode: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^Cannot create directory ".*": .*(too long|ENAMETOOLONG)/);
    const failed = /"(.*)"/.exec((err as Error).message)![1]!;
    // the first too-long one: its parent was made
    expect(statSync(dirname(failed)).isDirectory()).toBe(true);
    expect(`${dirname(failed)}/`.length).toBeLessThan(4096);
  });
});

describe("hardlink checkout: progress", () => {
  it("reports progress while the native walk runs, and the whole count at the end", async () => {
    const { repo, commits } = await makeHistory(t.dir, "bare-user-only", 1);
    const seen: number[] = [];
    const stats = await checkoutTree(repo, {
      rev: commits[0]!,
      dest: join(t.dir, "co"),
      userMode: true,
      onProgress: (p) => seen.push(p.files),
    });
    expect(stats.files).toBeGreaterThan(3);
    expect(stats.hardlinked).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(stats.files);
  });
});

describe("hardlink checkout: what the native walk leaves", () => {
  it("checks out a tree held by the parent repository (the walk reads only this one's objects)", async () => {
    const { repo: parent, commits } = await makeHistory(t.dir, "bare-user-only", 1);
    const child = Repo.create(join(t.dir, "child"), { mode: "bare-user-only" });
    child.config.set("core", "parent", parent.path);
    const fromParent = join(t.dir, "from-parent");
    const fromChild = join(t.dir, "from-child");
    const want = await checkoutTree(parent, { rev: commits[0]!, dest: fromParent, userMode: true });
    // the child has none of the objects: its walk hands the root back, and the JS path finds
    // every dirtree, dirmeta and file in the parent (files hardlinked to the parent's objects)
    const got = await checkoutTree(child, { rev: commits[0]!, dest: fromChild, userMode: true });
    expect(got).toEqual(want);
    expect(treeManifest(fromChild)).toEqual(treeManifest(fromParent));
    expect(lstatSync(join(fromChild, "a.txt")).ino).toBe(lstatSync(join(fromParent, "a.txt")).ino);
  });
});
