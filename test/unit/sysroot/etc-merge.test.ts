import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Repo } from "../../../src/repo/repo.js";
import { diffDirs } from "../../../src/sysroot/diff-dirs.js";
import { mergeEtc, staleShadows } from "../../../src/sysroot/etc-merge.js";
import { commitOs, makeOsTree, tempDir } from "./_fixtures.js";

function write(p: string, text: string): void {
  mkdirSync(join(p, ".."), { recursive: true });
  writeFileSync(p, text);
}

describe("diffDirs()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it("reports modified, removed and added paths; added directories are followed by their contents", () => {
    const a = join(t.dir, "a");
    const b = join(t.dir, "b");
    write(join(a, "same"), "x");
    write(join(b, "same"), "x");
    write(join(a, "changed"), "1");
    write(join(b, "changed"), "2");
    write(join(a, "gone"), "g");
    write(join(b, "newdir/file"), "n");
    write(join(a, "mode"), "m");
    write(join(b, "mode"), "m");
    chmodSync(join(b, "mode"), 0o600);
    const d = diffDirs(a, b);
    expect(d.modified.sort()).toEqual(["changed", "mode"]);
    expect(d.removed).toEqual(["gone"]);
    expect(d.added).toEqual(["newdir", "newdir/file"]);
  });

  it("treats a type change (file → symlink) as modified", () => {
    const a = join(t.dir, "a");
    const b = join(t.dir, "b");
    write(join(a, "x"), "x");
    mkdirSync(b);
    symlinkSync("/elsewhere", join(b, "x"));
    expect(diffDirs(a, b).modified).toEqual(["x"]);
  });
});

describe("mergeEtc()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let oldRoot: string;
  let newRoot: string;
  beforeEach(() => {
    t = tempDir();
    oldRoot = join(t.dir, "old");
    newRoot = join(t.dir, "new");
    for (const [root, foo] of [
      [oldRoot, "a=1\n"],
      [newRoot, "a=2\n"],
    ] as const) {
      for (const etc of ["usr/etc", "etc"]) {
        write(join(root, etc, "foo.conf"), foo);
        write(join(root, etc, "passwd"), "root\n");
        write(join(root, etc, "dir/keep"), "k\n");
      }
    }
    write(join(newRoot, "usr/etc/new-in-v2.conf"), "new\n");
    write(join(newRoot, "etc/new-in-v2.conf"), "new\n");
  });
  afterEach(() => t.cleanup());

  it("carries modified, added and deleted files; the local version wins", () => {
    writeFileSync(join(oldRoot, "etc/foo.conf"), "a=MODIFIED\n");
    rmSync(join(oldRoot, "etc/passwd"));
    write(join(oldRoot, "etc/local.conf"), "mine\n");
    write(join(oldRoot, "etc/newdir/z"), "z\n");
    symlinkSync("/ENOENT", join(oldRoot, "etc/a-broken-symlink"));
    chmodSync(join(oldRoot, "etc/local.conf"), 0o600);
    const diff = mergeEtc(oldRoot, newRoot);
    expect(diff.modified).toEqual(["foo.conf"]);
    expect(readFileSync(join(newRoot, "etc/foo.conf"), "utf8")).toBe("a=MODIFIED\n");
    expect(() => lstatSync(join(newRoot, "etc/passwd"))).toThrow();
    expect(readFileSync(join(newRoot, "etc/local.conf"), "utf8")).toBe("mine\n");
    expect(lstatSync(join(newRoot, "etc/local.conf")).mode & 0o7777).toBe(0o600);
    expect(readFileSync(join(newRoot, "etc/newdir/z"), "utf8")).toBe("z\n");
    expect(readlinkSync(join(newRoot, "etc/a-broken-symlink"))).toBe("/ENOENT");
    expect(readFileSync(join(newRoot, "etc/new-in-v2.conf"), "utf8")).toBe("new\n");
  });

  it("refuses a local file where the new defaults have a directory", () => {
    rmSync(join(oldRoot, "etc/dir"), { recursive: true });
    write(join(oldRoot, "etc/dir"), "now a file\n");
    expect(() => mergeEtc(oldRoot, newRoot)).toThrow(
      "During /etc merge: Modified config file newly defaults to directory 'dir', cannot merge",
    );
  });

  it("creates missing parents of an added file with the old /etc's attributes", () => {
    write(join(oldRoot, "etc/deep/er/file"), "f\n");
    chmodSync(join(oldRoot, "etc/deep"), 0o700);
    mergeEtc(oldRoot, newRoot);
    expect(lstatSync(join(newRoot, "etc/deep")).mode & 0o777).toBe(0o700);
    expect(readFileSync(join(newRoot, "etc/deep/er/file"), "utf8")).toBe("f\n");
  });
});

describe("staleShadows()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it("lists local changes whose default changed between the two commits", async () => {
    const repoPath = join(t.dir, "repo");
    Repo.create(repoPath, { mode: "bare-user" });
    const v1 = join(t.dir, "v1");
    const v2 = join(t.dir, "v2");
    makeOsTree(v1, { etc: { "unchanged.conf": "u\n", "gone.conf": "g\n" } });
    makeOsTree(v2, {
      etc: { "unchanged.conf": "u\n", "gone.conf": "g2\n", "local.conf": "now a default\n" },
    });
    writeFileSync(join(v2, "usr/etc/foo.conf"), "a=2\n");
    const c1 = await commitOs(repoPath, v1, { timestamp: 1 });
    const c2 = await commitOs(repoPath, v2, { timestamp: 2 });
    const repo = Repo.open(repoPath);
    const diff = {
      modified: ["foo.conf", "unchanged.conf"],
      removed: ["gone.conf"],
      added: ["local.conf", "mine.conf"],
    };
    expect(staleShadows(repo, diff, c1, c2)).toEqual([
      { path: "foo.conf", local: "M" },
      { path: "gone.conf", local: "D" },
      { path: "local.conf", local: "A" },
    ]);
    expect(staleShadows(repo, diff, c1, c1)).toEqual([]);
  });
});
