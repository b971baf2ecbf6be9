/**
 * `commit --tree=tar=` with hard links (to files and to symlinks): each link resolves to its
 * target's object even while that target is still being stored; same commit as ostree.
 */
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let tarball: string;
beforeAll(() => {
  t = tempDir("arbor-commit-tar-links-");
  const src = join(t.dir, "src");
  mkdirSync(join(src, "usr/bin"), { recursive: true });
  mkdirSync(join(src, "usr/local/bin"), { recursive: true });
  writeFileSync(join(src, "usr/bin/foo"), "contents\n");
  writeFileSync(join(src, "usr/bin/big"), Buffer.alloc(2 << 20, 3)); // slower to store than its links
  linkSync(join(src, "usr/bin/foo"), join(src, "usr/bin/bar"));
  linkSync(join(src, "usr/bin/foo"), join(src, "usr/local/bin/baz"));
  linkSync(join(src, "usr/bin/big"), join(src, "usr/local/bin/big2"));
  symlinkSync("foo", join(src, "usr/bin/sl"));
  linkSync(join(src, "usr/bin/sl"), join(src, "usr/local/bin/slhl"));
  tarball = join(t.dir, "src.tar.gz");
  execFileSync("tar", ["-c", "-z", "-f", tarball, "-C", src, "."]);
});
afterAll(() => t.cleanup());

describe.skipIf(!hasOstree)("commit --tree=tar= with hard links, against ostree", () => {
  it.each(["bare", "archive"])("gives the same commit as ostree (%s)", (mode) => {
    const a = join(t.dir, `a-${mode}`);
    const o = join(t.dir, `o-${mode}`);
    ok(arbor(["init", `--repo=${a}`, `--mode=${mode}`]));
    ok(ostree(["init", `--repo=${o}`, `--mode=${mode}`]));
    const args = ["commit", "-b", "t", "--timestamp=@1", `--tree=tar=${tarball}`];
    expect(ok(arbor([`--repo=${a}`, ...args]))).toBe(ok(ostree([`--repo=${o}`, ...args])));
    expect(ok(arbor(["ls", `--repo=${a}`, "-R", "t"]))).toContain("/usr/local/bin/slhl -> foo");
  });
});
