/**
 * `summary -u` in a repository with a collection ID also commits to `ostree-metadata` (the same
 * commits as ostree, GPG-signed with the summary's keys), and `remote summary` reports a verified
 * summary signature in ostree's words.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, type RunResult, tempDir } from "../helpers/cli.js";
import { type GpgHome, makeGpgHome } from "../unit/sign/_gpg.js";

let t: ReturnType<typeof tempDir>;
let g: GpgHome;
let tree: string;
const env = { SOURCE_DATE_EPOCH: "1000" };
beforeAll(() => {
  t = tempDir("arbor-metadata-ref-");
  g = makeGpgHome(t.dir);
  tree = join(t.dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "a"), "a\n");
}, 120_000);
afterAll(() => {
  g?.kill();
  t.cleanup();
});

type Tool = (args: string[], opts?: { env?: Record<string, string> }) => RunResult;

describe.skipIf(!hasOstree)("summary -u and the ostree-metadata ref, against ostree", () => {
  it("writes the same ostree-metadata commits as ostree, a new one per update, signed when asked", () => {
    const updates = [
      [],
      ["--add-metadata=map=@a{sv} {}", "-m", "some-int=@t 123", "--add-metadata", "key='value'"],
      [`--gpg-sign=${g.good}`, `--gpg-homedir=${g.home}`],
    ];
    const history = (tool: Tool, name: string): string => {
      const repo = join(t.dir, name);
      ok(tool(["init", `--repo=${repo}`, "--mode=archive", "--collection-id=org.example.C1"]));
      ok(tool(["commit", `--repo=${repo}`, "-b", "main", tree], { env }));
      for (const u of updates) ok(tool(["summary", `--repo=${repo}`, "-u", ...u], { env }));
      expect(ok(tool(["refs", `--repo=${repo}`, "--collections"]))).toMatch(
        /^\(org\.example\.C1, ostree-metadata\)$/m,
      );
      expect(ok(tool(["ls", `--repo=${repo}`, "-R", "ostree-metadata"]))).toMatch(/^d00755 0 0 +0 \/$/);
      // the summary lists the new ref
      expect(ok(tool(["summary", `--repo=${repo}`, "--view"]))).toMatch(
        /^\* \(org\.example\.C1, ostree-metadata\)$/m,
      );
      return ok(tool(["log", `--repo=${repo}`, "ostree-metadata"]));
    };
    const want = history(ostree, "o");
    const got = history(arbor, "a");
    expect(got.replace(/\n\nFound 1 signature:[\s\S]*?(?=\ncommit |$)/g, "")).toBe(
      want.replace(/\n\nFound 1 signature:[\s\S]*?(?=\ncommit |$)/g, ""),
    );
    expect(got.match(/^commit /gm)).toHaveLength(3);
    // the last one is signed by the summary's key, and ostree verifies it
    const o = join(t.dir, "a");
    const keys = join(t.dir, "verify-home"); // ostree reads binary keyrings (pubring.gpg) from a homedir
    mkdirSync(keys);
    writeFileSync(join(keys, "pubring.gpg"), g.exportKeys(g.good));
    const shown = ok(ostree(["show", `--repo=${o}`, `--gpg-homedir=${keys}`, "ostree-metadata"]));
    expect(shown).toMatch(/Good signature from "Arbor Good <good@example\.com>"/);
  });

  it("writes no ostree-metadata ref without a collection ID", () => {
    const repo = join(t.dir, "plain");
    ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
    ok(arbor(["commit", `--repo=${repo}`, "-b", "main", tree]));
    ok(arbor(["summary", `--repo=${repo}`, "-u"]));
    expect(ok(arbor(["refs", `--repo=${repo}`]))).toBe("main");
  });

  it("remote summary reports the verified summary signature as ostree does", () => {
    const srv = join(t.dir, "srv");
    ok(ostree(["init", `--repo=${srv}`, "--mode=archive"]));
    ok(ostree(["commit", `--repo=${srv}`, "-b", "main", tree]));
    ok(ostree(["summary", `--repo=${srv}`, "-u", `--gpg-sign=${g.good}`, `--gpg-homedir=${g.home}`]));
    const keyring = join(t.dir, "good.gpg");
    writeFileSync(keyring, g.exportKeys(g.good));
    const out = (tool: Tool, name: string): string => {
      const repo = join(t.dir, name);
      ok(tool(["init", `--repo=${repo}`]));
      ok(
        tool(["remote", "add", `--repo=${repo}`, "--set=gpg-verify-summary=true", "origin", `file://${srv}`]),
      );
      ok(tool(["remote", "gpg-import", `--repo=${repo}`, "-k", keyring, "origin"]));
      return ok(tool(["remote", "summary", `--repo=${repo}`, "origin"]));
    };
    const got = out(arbor, "ca");
    expect(got).toMatch(/^GPG: Verification enabled, found 1 signature:$/m);
    expect(got).toBe(out(ostree, "co"));
  });
});
