/**
 * `commit --generate-sizes` writes the same `ostree.sizes` (so the same commit checksum) as
 * ostree, and `show --print-sizes` counts what a partial repository still needs as ostree does.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let src: string;
const env = { OSTREE_NO_XATTRS: "1" };
beforeAll(() => {
  t = tempDir("arbor-commit-sizes-");
  src = join(t.dir, "src");
  mkdirSync(join(src, "d/e"), { recursive: true });
  writeFileSync(join(src, "a"), "hello\n");
  writeFileSync(join(src, "d/b"), "x".repeat(5000));
  writeFileSync(join(src, "d/e/same"), "hello\n");
  symlinkSync("/a/longer/target", join(src, "l"));
});
afterAll(() => t.cleanup());

describe.skipIf(!hasOstree)("commit --generate-sizes / show --print-sizes, against ostree", () => {
  it("gives the same commit as ostree, including objects already stored", () => {
    const a = join(t.dir, "a");
    const o = join(t.dir, "o");
    for (const [tool, repo] of [
      [arbor, a],
      [ostree, o],
    ] as const)
      ok(tool(["init", `--repo=${repo}`, "--mode=archive"]));
    const commit = (n: number) => {
      const args = [
        "commit",
        "-b",
        "m",
        "--generate-sizes",
        `--timestamp=@${n}`,
        "--add-metadata-string=version=1",
      ];
      const want = ok(ostree([`--repo=${o}`, ...args, src], { env }));
      expect(ok(arbor([`--repo=${a}`, ...args, src], { env }))).toBe(want);
    };
    commit(1);
    writeFileSync(join(src, "d/new"), "more\n"); // the second commit re-uses most objects
    commit(2);
    const sizes = ok(arbor(["show", `--repo=${a}`, "--print-sizes", "m"]));
    expect(sizes).toBe(ok(ostree(["show", `--repo=${o}`, "--print-sizes", "m"])));
    expect(sizes).toMatch(/^Number of objects \(needed\/total\): 0\/8$/m); // 4 files (a and d/e/same are one object), 3 dirtrees, 1 dirmeta
    ok(ostree(["fsck", `--repo=${a}`]));
  });

  it("counts missing objects as ostree does, and says when a commit has no sizes", () => {
    const o = join(t.dir, "p");
    ok(ostree(["init", `--repo=${o}`, "--mode=archive"]));
    const cs = ok(ostree(["commit", `--repo=${o}`, "-b", "m", "--generate-sizes", src], { env }));
    // drop one content object and one dirtree: both count as needed
    const files = ok(ostree(["ls", `--repo=${o}`, "-RC", "m"])).split("\n");
    const file = files.find((l) => l.endsWith(" /a"))!.split(/\s+/)[4]!;
    const tree = files.find((l) => l.endsWith(" /d"))!.split(/\s+/)[4]!;
    rmSync(join(o, "objects", file.slice(0, 2), `${file.slice(2)}.filez`));
    rmSync(join(o, "objects", tree.slice(0, 2), `${tree.slice(2)}.dirtree`));
    const got = arbor(["show", `--repo=${o}`, "--print-sizes", cs]);
    expect(got.stdout).toBe(ostree(["show", `--repo=${o}`, "--print-sizes", cs]).stdout);
    expect(got.stdout).toMatch(/^Number of objects \(needed\/total\): 2\/\d+$/m);

    const plain = ok(ostree(["commit", `--repo=${o}`, "-b", "plain", src], { env }));
    const r = arbor(["show", `--repo=${o}`, "--print-sizes", plain]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No metadata key ostree\.sizes in commit/);
  });

  it("records no sizes outside archive repositories (as ostree)", () => {
    const b = join(t.dir, "b");
    ok(arbor(["init", `--repo=${b}`, "--mode=bare-user"]));
    ok(arbor(["commit", `--repo=${b}`, "-b", "m", "--generate-sizes", src], { env }));
    expect(ok(arbor(["show", `--repo=${b}`, "--list-metadata-keys", "m"]))).not.toMatch(/ostree\.sizes/);
  });
});
