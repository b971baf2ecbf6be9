/**
 * Interop: `pull-local` from a bare-user repository into a bare-user-only one hard-links the
 * objects ostree hard-links (regular files committed with canonical permissions; never the
 * symlinks, which bare-user stores as regular files), and the result passes `ostree fsck`.
 */
import { lstatSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";
import { supportsUserXattrs } from "../helpers/trees.js";

/** Objects of `dst` (relative paths) that are hardlinks of the same object in `src`. */
function linkedObjects(src: string, dst: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(dst, "objects")))
    for (const f of readdirSync(join(dst, "objects", d))) {
      const rel = join("objects", d, f);
      const a = lstatSync(join(src, rel), { throwIfNoEntry: false });
      if (a && a.ino === lstatSync(join(dst, rel)).ino) out.push(rel);
    }
  return out.sort();
}

describe.skipIf(!hasOstree)("pull-local bare-user → bare-user-only links as ostree", () => {
  let t: ReturnType<typeof tempDir>;
  let src = "";
  let xattrs = false;
  beforeAll(() => {
    t = tempDir("arbor-pull-link-");
    xattrs = supportsUserXattrs(t.dir);
    if (!xattrs) return;
    src = join(t.dir, "src");
    const files = join(t.dir, "files");
    mkdirSync(files);
    writeFileSync(join(files, "afile"), "afile\n");
    writeFileSync(join(files, "exe"), "exe\n", { mode: 0o755 });
    symlinkSync("afile", join(files, "afile-link"));
    ok(ostree(["init", `--repo=${src}`, "--mode=bare-user"]));
    ok(
      ostree(["commit", `--repo=${src}`, "--canonical-permissions", "-b", "testtree", `--tree=dir=${files}`]),
    );
  });
  afterAll(() => t?.cleanup());

  for (const untrusted of [[], ["--untrusted"]]) {
    it(`the same objects linked ${untrusted.join(" ")}`, (ctx) => {
      if (!xattrs) ctx.skip(); // bare-user needs user xattrs
      const o = join(t.dir, `o${untrusted.length}`);
      const a = join(t.dir, `a${untrusted.length}`);
      for (const r of [o, a]) ok(ostree(["init", `--repo=${r}`, "--mode=bare-user-only"]));
      ok(ostree(["pull-local", `--repo=${o}`, ...untrusted, src]), "ostree pull-local");
      ok(arbor(["pull-local", `--repo=${a}`, ...untrusted, src]), "arbor pull-local");
      const linkedO = linkedObjects(src, o);
      // the two regular files and the metadata; not the symlink
      expect(linkedO.filter((p) => p.endsWith(".file"))).toHaveLength(2);
      expect(linkedObjects(src, a)).toEqual(linkedO);
      ok(ostree(["fsck", `--repo=${a}`]), "ostree fsck");
    });
  }
});
