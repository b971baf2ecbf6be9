/**
 * Which objects pull-local hard-links (linkPolicy / linkableContent): bare-user into bare-user-only
 * links canonical regular files only, and nothing is linked between repositories of different
 * owners.
 */
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commitTree } from "../../../src/repo/commit.js";
import { fsckRepo } from "../../../src/repo/fsck.js";
import { pullLocal } from "../../../src/repo/pull-local.js";
import { Repo, type RepoMode } from "../../../src/repo/repo.js";

const isRoot = process.getuid?.() === 0;
let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-pull-link-")));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const repoAt = (name: string, mode: RepoMode) => Repo.create(join(tmp, name), { mode });

/** Commit a tree with a file (mode 0644), an executable and a symlink; their checksums by name. */
async function commitSample(repo: Repo, extra: { ownerUid?: number } = {}): Promise<Map<string, string>> {
  const dir = join(tmp, "tree");
  fs.mkdirSync(dir);
  fs.writeFileSync(join(dir, "afile"), "afile\n", { mode: 0o644 });
  fs.writeFileSync(join(dir, "exe"), "#!/bin/sh\n", { mode: 0o755 });
  fs.symlinkSync("afile", join(dir, "afile-link"));
  const r = await commitTree(repo, {
    trees: [{ kind: "dir", path: dir }],
    branch: "main",
    canonicalPermissions: extra.ownerUid === undefined,
    ...extra,
  });
  const root = repo.loadDirtree(repo.loadCommit(r.commit).rootTree);
  return new Map(root.files.map((f) => [f.name, f.checksum]));
}

const linked = (src: Repo, dst: Repo, cs: string) =>
  fs.lstatSync(src.objectPath(cs, "file")).ino === fs.lstatSync(dst.objectPath(cs, "file")).ino;

describe("pull-local hard links", () => {
  for (const untrusted of [false, true]) {
    it(`bare-user into bare-user-only links canonical regular files, copies symlinks (untrusted: ${untrusted})`, async () => {
      const src = repoAt("src", "bare-user");
      const files = await commitSample(src);
      const dst = repoAt("dst", "bare-user-only");
      const r = await pullLocal(src, dst, { untrusted });
      expect(r.contentLinked).toBe(2);
      expect(linked(src, dst, files.get("afile")!)).toBe(true);
      expect(linked(src, dst, files.get("exe")!)).toBe(true);
      expect(linked(src, dst, files.get("afile-link")!)).toBe(false);
      expect(fs.lstatSync(dst.objectPath(files.get("afile-link")!, "file")).isSymbolicLink()).toBe(true);
      const f = await fsckRepo(Repo.open(dst.path));
      expect(f.errors).toEqual([]);
    });
  }

  it("bare-user into bare-user-only never links an object that is not canonical there", async () => {
    const src = repoAt("src", "bare-user");
    await commitSample(src, { ownerUid: 5 });
    const dst = repoAt("dst", "bare-user-only");
    // the copy refuses what bare-user-only cannot hold; a link would have stored a corrupt object
    await expect(pullLocal(src, dst)).rejects.toMatchObject({ code: "UNSUPPORTED" });
    expect(fs.readdirSync(join(dst.path, "objects"))).toEqual([]);
  });

  it("bare-user-only into bare-user copies", async () => {
    const src = repoAt("src", "bare-user-only");
    const files = await commitSample(src);
    const dst = repoAt("dst", "bare-user");
    const r = await pullLocal(src, dst);
    expect(r.contentLinked).toBe(0);
    expect(linked(src, dst, files.get("afile")!)).toBe(false);
  });

  it.skipIf(!isRoot)("links nothing between repositories owned by different users", async () => {
    const src = repoAt("src", "bare-user");
    const files = await commitSample(src);
    const dst = repoAt("dst", "bare-user");
    fs.chownSync(dst.path, 4321, 4321);
    const r = await pullLocal(src, Repo.open(dst.path), { untrusted: false });
    expect(r.contentLinked).toBe(0);
    expect(linked(src, dst, files.get("afile")!)).toBe(false);
    const commit = fs.readdirSync(join(src.path, "refs/heads"));
    expect(commit).toEqual(["main"]);
    const c = fs.readFileSync(join(src.path, "refs/heads/main"), "utf8").trim();
    expect(fs.statSync(dst.objectPath(c, "commit")).ino).not.toBe(
      fs.statSync(src.objectPath(c, "commit")).ino,
    );
  });
});
