/**
 * scanHardlinks: the (device, inode) → object cache of `commit --link-checkout-speedup`, and the
 * importer's use of it (a hit is recorded unread; a file that is not a hardlink is hashed).
 */
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { native } from "../../../src/io/native.js";
import { commitTree } from "../../../src/repo/commit.js";
import { scanHardlinks } from "../../../src/repo/devino-cache.js";
import { Repo } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-devino-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const HDR = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };

async function store(repo: Repo, text: string): Promise<string> {
  const tx = await Transaction.begin(repo);
  const cs = await tx.writeContent(HDR, Buffer.from(text));
  await tx.commit();
  return cs;
}

describe("scanHardlinks", () => {
  it("maps each loose content object's inode to its checksum, parents first", async () => {
    const parent = Repo.create(join(dir, "parent"), { mode: "bare" });
    const child = Repo.create(join(dir, "child"), { mode: "bare" });
    child.config.set("core", "parent", parent.path);
    child.saveConfig();
    const inParent = await store(parent, "in parent\n");
    const inChild = await store(Repo.open(child.path), "in child\n");
    const cache = scanHardlinks(Repo.open(child.path));
    expect(cache.size).toBe(2);
    const p = parent.objectPath(inParent, "file");
    const hit = cache.lookup(p, lstatSync(p));
    expect(hit?.checksum).toBe(inParent);
    expect(hit?.repo.path).toBe(parent.path);
    const c = child.objectPath(inChild, "file");
    expect(cache.lookup(c, lstatSync(c))?.checksum).toBe(inChild);
    // a file of its own is no hit
    writeFileSync(join(dir, "other"), "in child\n");
    expect(cache.lookup(join(dir, "other"), lstatSync(join(dir, "other")))).toBeUndefined();
  });

  it("skips names that are not content objects and archive repositories", async () => {
    const repo = Repo.create(join(dir, "r"), { mode: "bare-user" });
    const cs = await store(repo, "x\n");
    const sub = join(repo.path, "objects", cs.slice(0, 2));
    writeFileSync(join(sub, `${"z".repeat(62)}.file`), "not a checksum");
    writeFileSync(join(sub, `${cs.slice(2, 40)}.file`), "short");
    mkdirSync(join(repo.path, "objects", "zz"));
    writeFileSync(join(repo.path, "objects", "zz", `${cs.slice(2)}.file`), "bad prefix");
    expect(readdirSync(sub).length).toBe(3);
    expect(scanHardlinks(repo).size).toBe(1);
    const archive = Repo.create(join(dir, "a"), { mode: "archive" });
    await store(archive, "x\n");
    expect(scanHardlinks(archive).size).toBe(0);
  });
});

describe("commit with linkCheckoutSpeedup", () => {
  it("records a hardlink as its object unread, hashes other files, counts hits", async () => {
    const repo = Repo.create(join(dir, "r"), { mode: "bare-user" });
    // an object whose recorded owner (gid 81) differs from the inode's
    const cs = await (async () => {
      const tx = await Transaction.begin(repo);
      const c = await tx.writeContent({ ...HDR, gid: 81 }, Buffer.from("object\n"));
      await tx.commit();
      return c;
    })();
    const tree = join(dir, "tree");
    mkdirSync(tree);
    linkSync(repo.objectPath(cs, "file"), join(tree, "linked"));
    writeFileSync(join(tree, "plain"), "object\n");
    const plain = await commitTree(repo, {
      trees: [{ kind: "dir", path: tree }],
      orphan: true,
      dryRun: true,
    });
    const fast = await commitTree(repo, {
      trees: [{ kind: "dir", path: tree }],
      orphan: true,
      timestamp: 0,
      linkCheckoutSpeedup: true,
    });
    expect(fast.stats.contentCacheHits).toBe(1);
    const root = repo.loadDirtree(repo.loadCommit(fast.commit).rootTree);
    const files = new Map(root.files.map((f) => [f.name, f.checksum]));
    expect(files.get("linked")).toBe(cs);
    // the same data, hashed with the inode's owner (gid 0): another object
    expect(files.get("plain")).not.toBe(cs);
    expect(plain.stats.contentCacheHits).toBe(0);
  });

  it("fails naming the file when a bare-user object it is linked to has no metadata", async () => {
    const repo = Repo.create(join(dir, "r"), { mode: "bare-user" });
    const cs = await store(repo, "object\n");
    const tree = join(dir, "tree");
    mkdirSync(tree);
    linkSync(repo.objectPath(cs, "file"), join(tree, "linked"));
    native().lremovexattr(repo.objectPath(cs, "file"), "user.ostreemeta");
    await expect(
      commitTree(repo, { trees: [{ kind: "dir", path: tree }], orphan: true, linkCheckoutSpeedup: true }),
    ).rejects.toMatchObject({
      code: "OBJECT_CORRUPT",
      message: expect.stringContaining(`Cannot commit "${join(tree, "linked")}"`),
    });
  });
});
