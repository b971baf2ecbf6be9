/**
 * Interop: hardlink checkouts (where arbor checks out plain files in bulk, natively) give what
 * ostree gives: the same tree, the same files hardlinked to the repo's objects, the same union
 * behaviour over an existing destination, and the same refusals.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";
import { makeHostileTree, supportsUserXattrs, treeManifest } from "../helpers/trees.js";

const isRoot = process.getuid?.() === 0;
const modes = isRoot
  ? (["bare-user", "bare-user-only", "bare"] as const)
  : (["bare-user", "bare-user-only"] as const);

/** Inode numbers of every content object of a repo. */
function objectInodes(repo: string): Set<number> {
  const out = new Set<number>();
  for (const d of readdirSync(join(repo, "objects")))
    for (const f of readdirSync(join(repo, "objects", d)))
      if (f.endsWith(".file")) out.add(lstatSync(join(repo, "objects", d, f)).ino);
  return out;
}

/** Paths below `root` that are hardlinks of one of `inodes`, and each directory's mtime. */
function linkage(root: string, inodes: Set<number>): { linked: string[]; dirMtimes: Record<string, number> } {
  const linked: string[] = [];
  const dirMtimes: Record<string, number> = {};
  const walk = (rel: string) => {
    const st = lstatSync(join(root, rel));
    if (st.isDirectory()) {
      dirMtimes[rel || "/"] = st.mtimeMs;
      for (const n of readdirSync(join(root, rel)).sort()) walk(rel ? `${rel}/${n}` : n);
    } else if (inodes.has(st.ino)) linked.push(rel);
  };
  walk("");
  return { linked, dirMtimes };
}

describe.skipIf(!hasOstree)("hardlink checkouts as ostree", () => {
  let t: ReturnType<typeof tempDir>;
  let xattrs = false;
  const repos: Record<string, string> = {};

  beforeAll(() => {
    t = tempDir("arbor-co-hl-");
    const tree = join(t.dir, "tree");
    mkdirSync(tree);
    xattrs = supportsUserXattrs(t.dir);
    makeHostileTree(tree, { xattrs, owners: isRoot, largeMB: 1 });
    // many files in one directory, an unreadable file, a read-only directory with content
    mkdirSync(join(tree, "many"));
    for (let i = 0; i < 300; i++) writeFileSync(join(tree, "many", `f${i}`), `file ${i % 250}\n`);
    writeFileSync(join(tree, "usr/bin/unreadable"), "no read bit\n");
    chmodSync(join(tree, "usr/bin/unreadable"), 0o200);
    mkdirSync(join(tree, "ro-dir/sub"), { recursive: true });
    writeFileSync(join(tree, "ro-dir/sub/inside"), "inside\n");
    chmodSync(join(tree, "ro-dir/sub"), 0o555);
    chmodSync(join(tree, "ro-dir"), 0o555);
    for (const mode of modes) {
      const repo = join(t.dir, `repo-${mode}`);
      ok(ostree(["init", `--repo=${repo}`, `--mode=${mode}`]));
      ok(ostree(["commit", `--repo=${repo}`, "-b", "main", "--timestamp=2024-01-01 00:00:00 +0000", tree]));
      repos[mode] = repo;
    }
  });
  afterAll(() => t.cleanup());

  const flagsFor = (mode: string) => (mode === "bare" ? ["-H"] : ["-U", "-H"]);

  for (const mode of modes) {
    it(`${mode}: the same tree, the same files hardlinked, directory mtimes 0`, () => {
      const repo = repos[mode]!;
      const outO = join(t.dir, `o-${mode}`);
      const outA = join(t.dir, `a-${mode}`);
      ok(ostree(["checkout", `--repo=${repo}`, ...flagsFor(mode), "main", outO]), "ostree checkout");
      ok(arbor(["checkout", `--repo=${repo}`, ...flagsFor(mode), "main", outA]), "arbor checkout");
      const full = mode === "bare";
      const mopts = { owners: full, xattrs: full && xattrs };
      expect(treeManifest(outA, mopts)).toEqual(treeManifest(outO, mopts));
      const inodes = objectInodes(repo);
      const a = linkage(outA, inodes);
      expect(a.linked.length).toBeGreaterThan(300);
      expect(a).toEqual(linkage(outO, inodes));
    });
  }

  /** A destination that overlaps the tree: changed files, a file where a symlink is, extras. */
  function prefilled(name: string): string {
    const d = join(t.dir, name);
    mkdirSync(join(d, "usr/bin"), { recursive: true });
    mkdirSync(join(d, "many"));
    writeFileSync(join(d, "usr/bin/sh"), "not the tree's sh\n");
    writeFileSync(join(d, "usr/bin/relative-link"), "a file where the tree has a symlink\n");
    writeFileSync(join(d, "many/f7"), "file 7\n"); // same content, another inode
    writeFileSync(join(d, "many/extra"), "not in the tree\n");
    symlinkSync("elsewhere", join(d, "usr/bin/extra-link"));
    return d;
  }

  for (const flag of ["--union", "--union-add", "--union-identical", null]) {
    it(`bare-user -U -H ${flag ?? "(no union flag)"} over an existing destination: as ostree`, () => {
      const repo = repos["bare-user"]!;
      const tag = flag?.replace(/\W/g, "") ?? "none";
      const outO = prefilled(`pre-o-${tag}`);
      const outA = prefilled(`pre-a-${tag}`);
      const args = ["checkout", `--repo=${repo}`, "-U", "-H", ...(flag ? [flag] : []), "main"];
      const ro = ostree([...args, outO]);
      const ra = arbor([...args, outA]);
      expect(ra.code, ra.stderr).toBe(ro.code);
      if (ro.code !== 0) expect(ra.stderr).toMatch(/^error: .*File exists/m);
      expect(treeManifest(outA)).toEqual(treeManifest(outO));
    });
  }

  it("a symlink subpath onto an existing name is refused as by ostree", () => {
    const repo = repos["bare-user"]!;
    for (const [tool, run] of [
      ["o", ostree],
      ["a", arbor],
    ] as const) {
      const d = join(t.dir, `sub-${tool}`);
      mkdirSync(d);
      writeFileSync(join(d, "relative-link"), "mine\n");
      const r = run(["checkout", `--repo=${repo}`, "-U", "--subpath=/usr/bin/relative-link", "main", d]);
      expect(r.code, tool).toBe(1);
      expect(r.stderr).toMatch(/File exists/);
      expect(readdirSync(d)).toEqual(["relative-link"]);
    }
  });

  it("a missing content object fails the checkout, naming the object, as ostree", () => {
    const repo = join(t.dir, "repo-missing");
    execFileSync("cp", ["-a", repos["bare-user"]!, repo]); // keeps the user.ostreemeta xattrs
    const ls = ok(ostree(["ls", `--repo=${repo}`, "-C", "main", "/many/f100"]));
    const cs = ls.split(/\s+/).find((w) => /^[0-9a-f]{64}$/.test(w))!;
    rmSync(join(repo, "objects", cs.slice(0, 2), `${cs.slice(2)}.file`));
    const ro = ostree(["checkout", `--repo=${repo}`, "-U", "-H", "main", join(t.dir, "miss-o")]);
    const ra = arbor(["checkout", `--repo=${repo}`, "-U", "-H", "main", join(t.dir, "miss-a")]);
    expect(ro.code).toBe(1);
    expect(ra.code).toBe(1);
    expect(ra.stderr).toContain(cs);
    expect(ra.stderr).toContain('Cannot check out "/many/f100"');
  });

  it("-H without -U from bare-user is refused with ostree's message", () => {
    const repo = repos["bare-user"]!;
    const ro = ostree(["checkout", `--repo=${repo}`, "-H", "main", join(t.dir, "h-o")]);
    const ra = arbor(["checkout", `--repo=${repo}`, "-H", "main", join(t.dir, "h-a")]);
    expect(ra.code).toBe(ro.code);
    expect(ra.stderr).toContain("User repository mode requires user checkout mode to hardlink");
    expect(ro.stderr).toContain("User repository mode requires user checkout mode to hardlink");
  });
});
