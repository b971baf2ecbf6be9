/**
 * compareImage on a hardlink checkout (-U -H) of a bare-user repository (what a deployment is), through the
 * native per-directory scan: each kind of finding, and what --quick can and cannot see.
 */
import { appendFileSync, chmodSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { compareImage } from "../../../src/managed/drift-image.js";
import { checkoutTree } from "../../../src/repo/checkout.js";
import { commitTree } from "../../../src/repo/commit.js";
import { Repo } from "../../../src/repo/repo.js";
import { tempDir } from "../../helpers/cli.js";

describe("compareImage (drift of a deployment's image files)", () => {
  let t: ReturnType<typeof tempDir>;
  let repo: Repo;
  let commit: string;
  let dep: string;
  beforeEach(async () => {
    t = tempDir("arbor-drift-image-");
    const tree = join(t.dir, "tree");
    for (const d of ["usr/bin", "usr/share/dir", "usr/lib", "etc", "var/lib"])
      mkdirSync(join(tree, d), { recursive: true });
    writeFileSync(join(tree, "usr/bin/a"), "#!/bin/sh\necho a\n", { mode: 0o755 });
    writeFileSync(join(tree, "usr/share/b"), "bee\n");
    writeFileSync(join(tree, "usr/share/dir/c"), "sea\n");
    symlinkSync("../bin/a", join(tree, "usr/lib/link"));
    writeFileSync(join(tree, "etc/conf"), "x=1\n");
    writeFileSync(join(tree, "var/lib/state"), "s\n");
    repo = Repo.create(join(t.dir, "repo"), { mode: "bare-user" });
    commit = (await commitTree(repo, { trees: [{ kind: "dir", path: tree }], branch: "os", subject: "v1" }))
      .commit;
    dep = join(t.dir, "dep");
    await checkoutTree(repo, { rev: "os", dest: dep, userMode: true, requireHardlinks: true });
  });
  afterEach(() => t.cleanup());

  const run = (quick: boolean) => compareImage(repo, commit, dep, { quick });

  it("finds nothing on a fresh checkout, in both modes, and counts every entry", async () => {
    for (const quick of [true, false]) {
      const d = await run(quick);
      expect(d.items).toEqual([]);
      expect(d.corrupt).toEqual([]);
      expect(d.checked).toBe(9); // usr, bin, a, share, b, dir, c, lib, link
    }
  });

  it("reports removed, added, type, mode and copied-file changes; /etc and /var are not its business", async () => {
    rmSync(join(dep, "usr/share/b"));
    writeFileSync(join(dep, "usr/share/new"), "n\n");
    rmSync(join(dep, "usr/share/dir"), { recursive: true });
    writeFileSync(join(dep, "usr/share/dir"), "now a file\n");
    chmodSync(join(dep, "usr/lib"), 0o700);
    // an editor's save: a new inode with other content of the same size
    rmSync(join(dep, "usr/bin/a"));
    writeFileSync(join(dep, "usr/bin/a"), "#!/bin/sh\necho b\n", { mode: 0o755 });
    writeFileSync(join(dep, "etc/conf"), "x=2\n");
    writeFileSync(join(dep, "var/lib/new"), "v\n");
    const content = await run(false);
    expect(content.items).toEqual([
      { path: "/usr/bin/a", change: "modified", kinds: ["content"] },
      { path: "/usr/lib", change: "modified", kinds: ["mode"] },
      { path: "/usr/share/b", change: "removed" },
      { path: "/usr/share/dir", change: "modified", kinds: ["type"] },
      { path: "/usr/share/new", change: "added" },
    ]);
    expect(content.corrupt).toEqual([]);
    // --quick reads no data: the same-size copy goes unseen
    const quick = await run(true);
    expect(quick.items).toEqual(content.items.filter((i) => i.path !== "/usr/bin/a"));
  });

  it("an object written in place is corruption (quick: by its mtime), and a deleted object is missing", async () => {
    appendFileSync(join(dep, "usr/share/b"), "more\n"); // the hardlink: the object changes too
    let tree = repo.loadCommit(commit).rootTree;
    for (const d of ["usr", "share", "dir"])
      tree = repo.loadDirtree(tree).dirs.find((x) => x.name === d)!.tree;
    const obj = repo.loadDirtree(tree).files.find((f) => f.name === "c")!.checksum;
    rmSync(repo.objectPath(obj, "file"));
    for (const quick of [true, false]) {
      const d = await run(quick);
      expect(d.items).toEqual([]);
      expect(d.corrupt).toEqual([
        { path: "/usr/share/b", change: "modified", kinds: ["content"] },
        { path: "/usr/share/dir/c", change: "removed", kinds: ["missing"] },
      ]);
    }
  });

  it("says which deployment directory it cannot read", async () => {
    rmSync(dep, { recursive: true });
    await expect(run(true)).rejects.toThrow(/Cannot read deployment ".*dep"/);
  });
});
