/**
 * Commit signatures across tools: arbor's GPG signatures are verified by `ostree show`, ostree's
 * by arbor; `gpg-sign --delete` removes them either way; ed25519 signatures made by `arbor sign`
 * verify with OpenSSL over the exact `.commit` bytes (Debian's ostree has no ed25519).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repo } from "../../src/repo/repo.js";
import { signaturesIn } from "../../src/sign/commit-sign.js";
import { describeCommitGpgSignatures } from "../../src/sign/describe.js";
import { arbor, ok, ostree, tempDir } from "../helpers/cli.js";
import { type GpgHome, makeGpgHome } from "../unit/sign/_gpg.js";

let t: ReturnType<typeof tempDir>;
let g: GpgHome;
let repo: string;
let tree: string;

function commitWith(tool: typeof arbor, branch: string): string {
  return ok(tool(["commit", `--repo=${repo}`, "-b", branch, "-s", branch, tree]));
}

beforeAll(() => {
  t = tempDir("arbor-sign-interop-");
  g = makeGpgHome(t.dir);
  repo = join(t.dir, "repo");
  tree = join(t.dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "f"), "signed\n");
  ok(ostree(["init", `--repo=${repo}`, "--mode=archive"]));
  // ostree (with no remote) verifies against every *.gpg keyring in the repo directory
  writeFileSync(join(repo, "keys.trustedkeys.gpg"), g.exportKeys(g.good, g.other));
}, 120_000);
afterAll(() => {
  g?.kill();
  t?.cleanup();
});

describe("commit signature interop", () => {
  it("ostree show verifies a commit arbor signed with gpg-sign", () => {
    const c = commitWith(ostree, "a");
    ok(arbor(["gpg-sign", `--repo=${repo}`, `--gpg-homedir=${g.home}`, c, g.good]));
    const out = ok(ostree(["show", `--repo=${repo}`, c]));
    expect(out).toMatch(
      /Found 1 signature:\n\n {2}Signature made .* using EdDSA key ID [0-9A-F]{16}\n {2}Good signature from "Arbor Good <good@example.com>"/,
    );
    const again = arbor(["gpg-sign", `--repo=${repo}`, `--gpg-homedir=${g.home}`, c, g.good]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`Commit is already signed with GPG key ${g.good}`);
  });

  it("arbor verifies a commit ostree signed, and describes it as ostree show does", async () => {
    const c = commitWith(ostree, "b");
    ok(ostree(["gpg-sign", `--repo=${repo}`, `--gpg-homedir=${g.home}`, c, g.good, g.other]));
    const ours = await describeCommitGpgSignatures(Repo.open(repo), c);
    const theirs = ok(ostree(["show", `--repo=${repo}`, c]));
    expect(theirs.endsWith(ours!.trimEnd())).toBe(true);
    expect(ours).toMatch(/^Found 2 signatures:/);
  });

  it("gpg-sign --delete works on either tool's signatures", () => {
    const c = commitWith(arbor, "c");
    ok(ostree(["gpg-sign", `--repo=${repo}`, `--gpg-homedir=${g.home}`, c, g.good]));
    ok(arbor(["gpg-sign", `--repo=${repo}`, `--gpg-homedir=${g.home}`, c, g.other]));
    expect(ok(arbor(["gpg-sign", `--repo=${repo}`, "--delete", c, g.good]))).toBe("Signatures deleted: 1");
    const shown = ok(ostree(["show", `--repo=${repo}`, c]));
    expect(shown).toContain("Found 1 signature:");
    expect(shown).toContain("Arbor Other");
    expect(ok(ostree(["gpg-sign", `--repo=${repo}`, "--delete", c, g.other]))).toBe("Signatures deleted: 1");
    expect(signaturesIn(Repo.open(repo).loadCommitMeta(c), "ostree.gpgsigs")).toEqual([]);
  });

  it("arbor sign (ed25519) makes signatures OpenSSL verifies over the .commit bytes", () => {
    const pem = join(t.dir, "k.pem");
    execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", pem]);
    const seed = execFileSync("openssl", ["pkey", "-in", pem, "-outform", "DER"]).subarray(-32);
    const pub = execFileSync("openssl", ["pkey", "-in", pem, "-pubout", "-outform", "DER"]).subarray(-32);
    execFileSync("openssl", ["pkey", "-in", pem, "-pubout", "-out", join(t.dir, "k.pub.pem")]);
    const secret = Buffer.concat([seed, pub]).toString("base64");
    const c = commitWith(arbor, "d");
    ok(arbor(["sign", `--repo=${repo}`, c, secret]));
    expect(ok(arbor(["sign", `--repo=${repo}`, "--verify", c, pub.toString("base64")]))).toBe(
      `ed25519: Signature verified successfully with key '${pub.toString("hex")}'`,
    );
    const sig = signaturesIn(Repo.open(repo).loadCommitMeta(c), "ostree.sign.ed25519")[0]!;
    writeFileSync(join(t.dir, "sig"), sig);
    const commitFile = join(repo, "objects", c.slice(0, 2), `${c.slice(2)}.commit`);
    const out = execFileSync("openssl", [
      "pkeyutl",
      "-verify",
      "-pubin",
      "-inkey",
      join(t.dir, "k.pub.pem"),
      "-rawin",
      "-in",
      commitFile,
      "-sigfile",
      join(t.dir, "sig"),
    ]).toString();
    expect(out).toContain("Signature Verified Successfully");
    expect(readFileSync(commitFile).length).toBeGreaterThan(0);
    const bad = arbor(["sign", `--repo=${repo}`, "--verify", c, Buffer.alloc(32, 1).toString("base64")]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("No valid signatures found");
  });
});
