/**
 * Summaries are interchangeable: arbor builds the same bytes `ostree summary -u` does for the same
 * repository and time; `summary --view` and `--raw` print what ostree
 * (2022.7) prints; ostree reads arbor's summary, signed or not.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lookup } from "../../src/core/metadata.js";
import { bswap64 } from "../../src/gvariant/formats.js";
import { Variant } from "../../src/gvariant/index.js";
import { Repo } from "../../src/repo/repo.js";
import { buildSummary, decodeSummary } from "../../src/repo/summary.js";
import { arbor, ok, ostree, tempDir } from "../helpers/cli.js";
import { type GpgHome, makeGpgHome } from "../unit/sign/_gpg.js";

let t: ReturnType<typeof tempDir>;
let repo: string;
let g: GpgHome;
const UTC = { env: { TZ: "UTC" } };

beforeAll(() => {
  t = tempDir("arbor-summary-interop-");
  g = makeGpgHome(t.dir);
  repo = join(t.dir, "repo");
  const tree = join(t.dir, "tree");
  mkdirSync(join(tree, "a"), { recursive: true });
  writeFileSync(join(tree, "a", "f"), "x\n");
  ok(ostree(["init", `--repo=${repo}`, "--mode=archive"]));
  ok(ostree(["commit", `--repo=${repo}`, "-b", "main", "--add-metadata-string=version=1.0", tree]));
  ok(ostree(["commit", `--repo=${repo}`, "-b", "zeta", "-s", "z", tree]));
  ok(ostree(["commit", `--repo=${repo}`, "-b", "abc/def", "-s", "z", tree]));
}, 120_000);
afterAll(() => {
  g?.kill();
  t?.cleanup();
});

describe("summary interop", () => {
  it("arbor builds ostree's exact summary bytes (refs, LE sizes, hash-ordered metadata)", () => {
    ok(ostree(["summary", "-u", `--repo=${repo}`, "-m", "foo='bar'", "-m", "n=uint32 5", "-m", "flag=true"]));
    const theirs = readFileSync(join(repo, "summary"));
    const lm = lookup(decodeSummary(theirs).metadata, "ostree.summary.last-modified")!.value as bigint;
    const ours = buildSummary(Repo.open(repo), {
      now: () => Number(bswap64(lm)),
      additionalMetadata: [
        ["foo", new Variant("s", "bar")],
        ["n", new Variant("u", 5)],
        ["flag", new Variant("b", true)],
      ],
    });
    expect(Buffer.from(ours).equals(theirs)).toBe(true);
  });

  it("summary --view and --raw print what ostree prints", () => {
    for (const args of [["--view"], ["--raw"], []]) {
      const a = arbor(["summary", `--repo=${repo}`, ...args], UTC);
      const o = ostree(["summary", `--repo=${repo}`, ...args], UTC);
      expect(a.stdout, args.join(" ")).toBe(o.stdout);
      expect(a.code).toBe(o.code);
      expect(a.stderr).toBe(o.stderr);
    }
  });

  it("ostree reads arbor's summary; arbor's -u with -m parses GVariant text like ostree", () => {
    ok(arbor(["summary", "-u", `--repo=${repo}`, "-m", "foo='bar'", "-m", "n=uint32 5"]));
    expect(ok(ostree(["summary", "--view", `--repo=${repo}`], UTC))).toMatch(
      /\* abc\/def\n.*\n.*\n.*\n\n\* main\n[\s\S]*n: 5\n[\s\S]*foo: 'bar'/,
    );
    expect(readFileSync(join(repo, "config"), "utf8")).toContain("indexed-deltas=true");
  });

  it("arbor signs the summary with GPG; ostree reads the signed summary", () => {
    ok(arbor(["summary", "-u", `--repo=${repo}`, `--gpg-sign=${g.good}`, `--gpg-homedir=${g.home}`]));
    const sig = readFileSync(join(repo, "summary.sig"));
    expect(sig.includes(Buffer.from("ostree.gpgsigs"))).toBe(true);
    // (pulling with gpg-verify-summary=true is covered by pull-gpg.test.ts)
    expect(ok(ostree(["summary", "--view", `--repo=${repo}`], UTC))).toBe(
      ok(arbor(["summary", "--view", `--repo=${repo}`], UTC)),
    );
  });

  it("collection refs: refs --collections --create/--delete and the summary's collection map match ostree", () => {
    const mk = (name: string, tool: typeof arbor) => {
      const r = join(t.dir, name);
      ok(tool(["init", `--repo=${r}`, "--mode=archive", "--collection-id=org.example.Main"]));
      ok(tool(["commit", `--repo=${r}`, "-b", "t1", "--timestamp=2024-01-01 00:00:00", join(t.dir, "tree")]));
      ok(tool(["refs", `--repo=${r}`, "--collections", "--create=org.example.Other:t1-mirror", "t1"]));
      ok(tool(["refs", `--repo=${r}`, "--collections", "--create=org.example.Gone:x", "t1"]));
      ok(tool(["refs", `--repo=${r}`, "--collections", "--delete", "org.example.Gone"]));
      return r;
    };
    const a = mk("coll-arbor", arbor);
    const o = mk("coll-ostree", ostree);
    for (const r of [a, o]) {
      const sorted = (x: string) => x.split("\n").sort().join("\n");
      const mine = ok(arbor(["refs", `--repo=${r}`, "--collections"]));
      expect(sorted(mine)).toBe("(org.example.Main, t1)\n(org.example.Other, t1-mirror)");
      expect(sorted(ok(ostree(["refs", `--repo=${r}`, "--collections"])))).toBe(sorted(mine));
      expect(ok(arbor(["refs", `--repo=${r}`, "--collections", "org.example.Other"]))).toBe(
        "(org.example.Other, t1-mirror)",
      );
    }
    expect(arbor(["refs", `--repo=${a}`, "--collections", "--create=not-a-cid:x", "t1"]).code).toBe(1);
    ok(arbor(["summary", "-u", `--repo=${a}`]));
    expect(ok(ostree(["summary", "--view", `--repo=${a}`]))).toContain("(org.example.Other, t1-mirror)");
  });
});
