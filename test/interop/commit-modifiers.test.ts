/**
 * `commit --tree=ref=REV` with modifiers re-stores the tree with them (same checksum as ostree),
 * `--consume` adopts files where ostree does, and SOURCE_DATE_EPOCH sets the timestamp as ostree.
 */
import { execFileSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let src: string;
beforeAll(() => {
  t = tempDir("arbor-commit-mod-");
  src = join(t.dir, "src");
  mkdirSync(join(src, "d"), { recursive: true });
  writeFileSync(join(src, "d/f"), "hi\n");
  writeFileSync(join(src, "x"), "x\n", { mode: 0o750 });
});
afterAll(() => t.cleanup());

describe.skipIf(!hasOstree)("commit modifiers and consume, against ostree", () => {
  for (const mode of ["archive", "bare-user"] as const) {
    it(`--tree=ref with --owner-uid/--owner-gid and --canonical-permissions (${mode})`, () => {
      const a = join(t.dir, `a-${mode}`);
      const o = join(t.dir, `o-${mode}`);
      ok(ostree(["init", `--repo=${o}`, `--mode=${mode}`]));
      ok(ostree(["commit", `--repo=${o}`, "-b", "base", `--tree=dir=${src}`, "--timestamp=@1"]));
      execFileSync("cp", ["-a", o, a]); // keeps the user.ostreemeta xattrs
      for (const flags of [["--owner-uid=7", "--owner-gid=8"], ["--canonical-permissions"]]) {
        const args = ["commit", "-b", "n", "--tree=ref=base", "--timestamp=@2", ...flags];
        const want = ok(ostree([`--repo=${o}`, ...args]));
        const got = ok(arbor([`--repo=${a}`, ...args]));
        expect(got).toBe(want);
        expect(ok(arbor(["ls", `--repo=${a}`, "n"]))).toBe(ok(ostree(["ls", `--repo=${o}`, "n"])));
      }
      // --base is different: the base tree is kept as is, modifiers apply to the new content only
      const overlay = join(t.dir, `overlay-${mode}`);
      mkdirSync(overlay, { recursive: true });
      writeFileSync(join(overlay, "overlaid"), "new\n");
      const args = ["commit", "-b", "b", "--base=base", "--owner-uid=42", "--owner-gid=42", "--timestamp=@3"];
      const want = ok(ostree([`--repo=${o}`, ...args, overlay]));
      expect(ok(arbor([`--repo=${a}`, ...args, overlay]))).toBe(want);
      const owned = ok(arbor(["ls", `--repo=${a}`, "-R", "b"]))
        .split("\n")
        .filter((l) => / 42 +42 /.test(l));
      expect(owned.length).toBe(2); // the root dir and the new file
      ok(ostree(["fsck", `--repo=${a}`]));
    });
  }

  it("ref bindings as ostree: --orphan writes an empty ostree.ref-binding, --no-bindings none, a collection ID binds", () => {
    for (const collection of [null, "org.example.Bindings"]) {
      const a = join(t.dir, `bind-a-${collection ? "c" : "n"}`);
      const o = join(t.dir, `bind-o-${collection ? "c" : "n"}`);
      for (const [tool, repo] of [
        [arbor, a],
        [ostree, o],
      ] as const)
        ok(
          tool([
            "init",
            `--repo=${repo}`,
            "--mode=archive",
            ...(collection ? [`--collection-id=${collection}`] : []),
          ]),
        );
      for (const flags of [
        ["--orphan"],
        ["--orphan", "--no-bindings"],
        ["-b", "r", "--bind-ref=z"],
        ["-b", "r", "--no-bindings"],
      ]) {
        const args = ["commit", "--timestamp=@5", "-s", "s", ...flags, src];
        const want = ok(ostree([`--repo=${o}`, ...args]));
        expect(ok(arbor([`--repo=${a}`, ...args])), `${collection} ${flags.join(" ")}`).toBe(want);
      }
    }
  });

  for (const [mode, adopts] of [
    ["bare-user-only", true],
    ["bare", true],
    ["bare-user", false],
    ["archive", false],
  ] as const) {
    it(`--consume ${adopts ? "adopts the file as its object" : "copies"} (${mode}) and removes the tree`, () => {
      const repo = join(t.dir, `c-${mode}`);
      const tree = join(t.dir, `tree-${mode}`);
      const saved = join(t.dir, `saved-${mode}`);
      ok(ostree(["init", `--repo=${repo}`, `--mode=${mode}`]));
      mkdirSync(join(tree, "sub"), { recursive: true });
      writeFileSync(join(tree, "eat.txt"), `eat me ${mode}\n`);
      writeFileSync(join(tree, "sub/s"), "sub\n");
      linkSync(join(tree, "eat.txt"), saved);
      ok(arbor(["commit", `--repo=${repo}`, "-b", "c", "--consume", `--tree=dir=${tree}`]));
      expect(existsSync(tree)).toBe(false);
      const cs = ok(ostree(["ls", `--repo=${repo}`, "-C", "c", "/eat.txt"])).split(/\s+/)[4]!;
      const obj = join(
        repo,
        "objects",
        cs.slice(0, 2),
        `${cs.slice(2)}.${mode === "archive" ? "filez" : "file"}`,
      );
      expect(statSync(obj).ino === statSync(saved).ino).toBe(adopts);
      ok(ostree(["fsck", `--repo=${repo}`]));
    });
  }

  it("SOURCE_DATE_EPOCH gives the commit timestamp, as ostree; bad values fail in ostree's words", () => {
    const a = join(t.dir, "sde-a");
    const o = join(t.dir, "sde-o");
    for (const r of [a, o]) ok(ostree(["init", `--repo=${r}`, "--mode=archive"]));
    const env = { SOURCE_DATE_EPOCH: "1234567890" };
    const args = (r: string) => ["commit", `--repo=${r}`, "-b", "env", `--tree=dir=${src}`, "-s", "env"];
    expect(ok(arbor(args(a), { env }))).toBe(ok(ostree(args(o), { env })));
    const bad = arbor(args(a), { env: { SOURCE_DATE_EPOCH: "invalid" } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("Failed to convert SOURCE_DATE_EPOCH");
    const big = arbor(args(a), { env: { SOURCE_DATE_EPOCH: "12345678901234567890" } });
    expect(big.stderr).toContain("Parsing SOURCE_DATE_EPOCH: Numerical result out of range");
  });
});
