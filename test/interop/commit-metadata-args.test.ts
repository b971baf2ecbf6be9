/** `commit --add-metadata*` arguments: the same acceptance and error messages as ostree. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir("arbor-commit-md-args-");
  mkdirSync(join(t.dir, "tree"));
  writeFileSync(join(t.dir, "tree", "f"), "x\n");
  for (const [tool, name] of [
    [arbor, "a"],
    [ostree, "o"],
  ] as const)
    ok(tool(["init", `--repo=${join(t.dir, name)}`, "--mode=archive"]));
});
afterAll(() => t.cleanup());

describe.skipIf(!hasOstree)("commit metadata arguments, against ostree", () => {
  it.each([
    ["--add-metadata-string==FOO", "Empty metadata key"],
    ["--add-metadata==1", "Empty metadata key"],
    ["--add-metadata-string=FOO", "Missing '=' in KEY=VALUE metadata 'FOO'"],
    ["--add-detached-metadata-string=FOO", "Missing '=' in KEY=VALUE metadata 'FOO'"],
    ["--add-metadata==FOO", "Parsing =FOO: "],
    ["--add-detached-metadata-string==FOO", null],
    ["--add-metadata-string=FOO=", null],
  ])("%s", (arg, error) => {
    const run = (tool: typeof arbor, name: string) =>
      tool(["commit", `--repo=${join(t.dir, name)}`, "-b", "x", arg, join(t.dir, "tree")]);
    const got = run(arbor, "a");
    const want = run(ostree, "o");
    expect(got.code).toBe(want.code);
    if (error === null) expect(got.code).toBe(0);
    else {
      expect(want.stderr).toContain(error);
      expect(got.stderr).toContain(error);
    }
  });
});
