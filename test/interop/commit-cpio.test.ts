/**
 * `commit --tree=tar=` with cpio (newc) archives, archives on standard input, and the
 * `--tar-pathname-filter` / `--tar-autocreate-parents` / modifier options: same commit as ostree.
 */
import { execFileSync } from "node:child_process";
import { linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARBOR, arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let cpio: string;
let tgz: string;
beforeAll(() => {
  t = tempDir("arbor-commit-cpio-");
  const src = join(t.dir, "src");
  mkdirSync(join(src, "usr/bin"), { recursive: true });
  mkdirSync(join(src, "usr/local/bin"), { recursive: true });
  writeFileSync(join(src, "usr/bin/foo"), "contents\n");
  writeFileSync(join(src, "usr/bin/setuidme"), "setuidme\n");
  writeFileSync(join(src, "usr/bin/skipme"), "skipme\n");
  writeFileSync(join(src, "usr/bin/empty"), "");
  linkSync(join(src, "usr/bin/foo"), join(src, "usr/bin/bar"));
  linkSync(join(src, "usr/bin/foo"), join(src, "usr/local/bin/baz"));
  linkSync(join(src, "usr/bin/empty"), join(src, "usr/local/bin/empty2"));
  symlinkSync("foo", join(src, "usr/bin/sl"));
  linkSync(join(src, "usr/bin/sl"), join(src, "usr/local/bin/slhl"));
  cpio = join(t.dir, "src.cpio");
  writeFileSync(cpio, execFileSync("sh", ["-c", "find . | cpio -o -H newc 2>/dev/null"], { cwd: src }));
  tgz = join(t.dir, "src.tar.gz");
  execFileSync("tar", ["-c", "-z", "-f", tgz, "-C", src, "."]);
  writeFileSync(join(t.dir, "so.txt"), "2048 /foo/usr/bin/setuidme\n");
  writeFileSync(join(t.dir, "skip.txt"), "/foo/usr/bin/skipme\n");
});
afterAll(() => t.cleanup());

const repos = (name: string): [string, string] => {
  const a = join(t.dir, `a-${name}`);
  const o = join(t.dir, `o-${name}`);
  ok(arbor(["init", `--repo=${a}`, "--mode=bare-user"]));
  ok(ostree(["init", `--repo=${o}`, "--mode=bare-user"]));
  return [a, o];
};

describe.skipIf(!hasOstree)("commit --tree=tar= with cpio and stdin, against ostree", () => {
  it("imports a newc cpio archive (hard links, symlinks, empty link sets) as ostree does", () => {
    const [a, o] = repos("cpio");
    const args = ["commit", "-b", "t", "--timestamp=@1", `--tree=tar=${cpio}`];
    const cs = ok(arbor([`--repo=${a}`, ...args]));
    expect(cs).toBe(ok(ostree([`--repo=${o}`, ...args])));
    const ls = ok(arbor(["ls", `--repo=${a}`, "-R", "t"]));
    expect(ls).toContain("/usr/local/bin/slhl -> foo");
    expect(ls).toMatch(/0 \/usr\/local\/bin\/empty2/);
  });

  it.each(["cpio", "tgz"])("reads a %s archive from standard input", (kind) => {
    const [a, o] = repos(`stdin-${kind}`);
    const input = readFileSync(kind === "cpio" ? cpio : tgz);
    const args = ["commit", "-b", "t", "--timestamp=@1", "--tree=tar=-"];
    const got = execFileSync(ARBOR, [`--repo=${a}`, ...args], { input })
      .toString()
      .trim();
    const want = execFileSync("ostree", [`--repo=${o}`, ...args], { input })
      .toString()
      .trim();
    expect(got).toBe(want);
  });

  it.each(["cpio", "tgz"])("applies the pathname filter, autocreated parents and modifiers (%s)", (kind) => {
    const [a, o] = repos(`filter-${kind}`);
    const args = [
      "commit",
      "-b",
      "t",
      "--timestamp=@1",
      "--tar-pathname-filter=^,foo/",
      "--tar-autocreate-parents",
      "--owner-uid=5",
      "--owner-gid=7",
      `--statoverride=${join(t.dir, "so.txt")}`,
      `--skip-list=${join(t.dir, "skip.txt")}`,
      `--tree=tar=${kind === "cpio" ? cpio : tgz}`,
    ];
    expect(ok(arbor([`--repo=${a}`, ...args]))).toBe(ok(ostree([`--repo=${o}`, ...args])));
    const ls = ok(arbor(["ls", `--repo=${a}`, "-R", "t"]));
    expect(ls).toContain("d00755 5 7      0 /foo\n");
    expect(ls).toMatch(/-04644 5 7 +9 \/foo\/usr\/bin\/setuidme/);
    expect(ls).not.toContain("skipme");
  });

  it("rejects a malformed pathname filter", () => {
    const [a] = repos("badfilter");
    const r = arbor([`--repo=${a}`, "commit", "-b", "t", "--tar-pathname-filter=abc", `--tree=tar=${cpio}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Missing ',' in --tar-pathname-filter");
  });

  it("refuses a member path leading outside the tree", () => {
    const [a] = repos("escape");
    const bad = join(t.dir, "escape.cpio");
    writeFileSync(join(t.dir, "outside"), "x\n");
    const src = join(t.dir, "src");
    writeFileSync(
      bad,
      execFileSync("sh", ["-c", "echo ../outside | cpio -o -H newc 2>/dev/null"], { cwd: src }),
    );
    const r = arbor([`--repo=${a}`, "commit", "-b", "t", `--tree=tar=${bad}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot import archive "${bad}": Invalid path in archive: "../outside"`);
  });

  it("refuses a missing parent without --tar-autocreate-parents, as ostree", () => {
    const [a, o] = repos("parents");
    const partial = join(t.dir, "partial.tar.gz");
    execFileSync("tar", ["-c", "-z", "-f", partial, "-C", join(t.dir, "src"), "usr/bin/foo"]);
    const args = ["commit", "-b", "t", "--timestamp=@1", `--tree=tar=${partial}`];
    const r = arbor([`--repo=${a}`, ...args]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot import archive "${partial}": No such file or directory: usr`);
    expect(ostree([`--repo=${o}`, ...args]).stderr).toContain("No such file or directory: usr");
    const auto = [...args.slice(0, -1), "--tar-autocreate-parents", args[args.length - 1]!];
    expect(ok(arbor([`--repo=${a}`, ...auto]))).toBe(ok(ostree([`--repo=${o}`, ...auto])));
  });

  it("refuses a tar member leading outside the tree without stalling", () => {
    const [a] = repos("tar-escape");
    const bad = join(t.dir, "escape.tar");
    execFileSync("tar", ["-c", "-P", "-f", bad, "../outside"], { cwd: join(t.dir, "src") });
    const r = arbor([`--repo=${a}`, "commit", "-b", "t", `--tree=tar=${bad}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot import archive "${bad}": Invalid path in archive: "../outside"`);
  });

  it("names the archive when cpio data is truncated", () => {
    const [a] = repos("trunc");
    const bad = join(t.dir, "trunc.cpio");
    writeFileSync(bad, readFileSync(cpio).subarray(0, 300));
    const r = arbor([`--repo=${a}`, "commit", "-b", "t", `--tree=tar=${bad}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Cannot import archive "${bad}": malformed cpio data: truncated`);
  });
});
