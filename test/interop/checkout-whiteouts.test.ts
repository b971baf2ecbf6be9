/**
 * `checkout --process-passthrough-whiteouts`: a regular file `.ostree-wh.NAME` becomes NAME, an
 * overlayfs whiteout (character device 0:0) with the file's permission bits, as ostree makes it;
 * without the flag the file is checked out as is.
 */
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

describe.skipIf(!hasOstree || process.getuid?.() !== 0)("passthrough whiteouts, against ostree", () => {
  let t: ReturnType<typeof tempDir>;
  let repo: string;
  beforeAll(() => {
    t = tempDir("arbor-wh-");
    const tree = join(t.dir, "tree/whiteouts");
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, ".ostree-wh.whiteout"), "");
    writeFileSync(join(tree, ".ostree-wh.whiteout2"), "", { mode: 0o640 });
    writeFileSync(join(tree, "plain"), "p\n");
    repo = join(t.dir, "repo");
    ok(ostree(["init", `--repo=${repo}`, "--mode=bare"]));
    ok(ostree(["commit", `--repo=${repo}`, "-b", "w", join(t.dir, "tree")]));
  });
  afterAll(() => t.cleanup());

  const describeEntry = (p: string): string => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return "absent";
    return `${st.isCharacterDevice() ? "chr" : st.isFile() ? "file" : "other"} ${(st.mode & 0o7777).toString(8)} ${st.rdev}`;
  };

  it("makes the same devices as ostree, and plain files without the flag", () => {
    const seen: Record<string, string[]> = {};
    for (const [tool, run] of [
      ["ostree", ostree],
      ["arbor", arbor],
    ] as const) {
      const dest = join(t.dir, `co-${tool}`);
      ok(run(["checkout", `--repo=${repo}`, "--process-passthrough-whiteouts", "w", dest]));
      const plainDest = join(t.dir, `plain-${tool}`);
      ok(run(["checkout", `--repo=${repo}`, "w", plainDest]));
      seen[tool] = [
        ...["whiteout", "whiteout2", ".ostree-wh.whiteout", "plain"].map((n) =>
          describeEntry(join(dest, "whiteouts", n)),
        ),
        describeEntry(join(plainDest, "whiteouts/.ostree-wh.whiteout")),
        describeEntry(join(plainDest, "whiteouts/whiteout")),
      ];
    }
    expect(seen.arbor).toEqual(seen.ostree);
    expect(seen.arbor![0]).toMatch(/^chr /);
    expect(seen.arbor![1]).toBe("chr 640 0");
  });
});
