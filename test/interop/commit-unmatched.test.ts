/**
 * `commit --skip-list` / `--statoverride` paths that match nothing: ostree prints each
 * ("Unmatched skip-list path: P") and fails the commit ("error: Unmatched skip-list paths", exit 1),
 * statoverride first; `=MODE` statoverride lines are never reported (only `+MODE` ones). Same
 * trees, same files: arbor must print and exit exactly as ostree, and move no ref. And an archive
 * without a `./` entry leaves the root without metadata: "Can't commit an empty tree", unless
 * `--tar-autocreate-parents` creates it.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let repo: string;
const file = (name: string, text: string): string => {
  const p = join(t.dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  t = tempDir("arbor-commit-unmatched-");
  mkdirSync(join(t.dir, "tree/d"), { recursive: true });
  writeFileSync(join(t.dir, "tree/a"), "a\n");
  writeFileSync(join(t.dir, "tree/d/b"), "b\n");
  execFileSync("tar", ["-C", join(t.dir, "tree"), "-cf", join(t.dir, "tree.tar"), "."]);
  // no `./` entry: the root has no metadata unless --tar-autocreate-parents makes it
  execFileSync("tar", ["-C", join(t.dir, "tree"), "-cf", join(t.dir, "rootless.tar"), "a", "d"]);
  repo = join(t.dir, "repo");
  ok(ostree(["init", `--repo=${repo}`, "--mode=archive"]));
  ok(ostree(["commit", `--repo=${repo}`, "-b", "base", "--timestamp=@1", join(t.dir, "tree")]));
});
afterAll(() => t.cleanup());

/** arbor and ostree print the same and exit alike for `args`. */
function expectSameAsOstree(args: string[]): void {
  const o = ostree(args);
  const a = arbor(args);
  expect({ code: a.code, stderr: a.stderr, stdout: a.stdout }).toEqual({
    code: o.code,
    stderr: o.stderr,
    stdout: o.stdout,
  });
}

describe.skipIf(!hasOstree)("commit with unmatched skip-list / statoverride paths, against ostree", () => {
  const cases: Array<[string, () => string[]]> = [
    ["a skip-list path that is not in the tree", () => [`--skip-list=${file("s1", "/nope\n/a\n")}`]],
    [
      "a +MODE statoverride path that is not in the tree (=MODE ones are not reported)",
      () => [`--statoverride=${file("o1", "+2048 /zzz\n=0644 /yyy\n+2048 /a\n")}`],
    ],
    [
      "both: statoverride is reported first; a skipped path's +MODE line counts as matched",
      () => [
        `--statoverride=${file("o2", "+2048 /zzz\n+2048 /a\n")}`,
        `--skip-list=${file("s2", "/a\n/nope\n")}`,
      ],
    ],
    ["everything matched: the commit succeeds", () => [`--skip-list=${file("s3", "/d/b\n")}`]],
  ];
  for (const [what, flags] of cases) {
    for (const source of ["dir", "tar", "ref"] as const) {
      it(`${what} (--tree=${source})`, () => {
        const tree =
          source === "dir"
            ? `--tree=dir=${join(t.dir, "tree")}`
            : source === "tar"
              ? `--tree=tar=${join(t.dir, "tree.tar")}`
              : "--tree=ref=base";
        const args = ["commit", `--repo=${repo}`, "--timestamp=@2", "--orphan", tree, ...flags()];
        expectSameAsOstree(args);
      });
    }
  }

  it("a tar without a ./ entry: ostree's empty-tree error, or the same commit with --tar-autocreate-parents", () => {
    const base = [
      "commit",
      `--repo=${repo}`,
      "--timestamp=@2",
      "--orphan",
      `--tree=tar=${join(t.dir, "rootless.tar")}`,
    ];
    for (const args of [base, [...base, "--tar-autocreate-parents"]]) {
      expectSameAsOstree(args);
    }
    expect(ostree(base).stderr).toContain("Can't commit an empty tree");
  });
});
