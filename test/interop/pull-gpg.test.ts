/**
 * GPG-signed pulls across tools, over a real nginx on 127.0.0.1:
 *  (a) an archive repo written and signed by arbor (commit + summary), pulled by the real ostree,
 *      which verifies arbor's signatures; wrong, expired and revoked keys fail in ostree;
 *  (b) an archive repo written and signed by ostree, pulled by arbor, which verifies ostree's
 *      signatures; wrong, expired and revoked keys fail in arbor.
 * Needs `npm run build` (drives bin/arbor).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Repo } from "../../src/repo/repo.js";
import { appendSignatures } from "../../src/repo/summary.js";
import { writeDetachedMetadata } from "../../src/sign/commit-sign.js";
import { type RunningServer, startNginx } from "../helpers/nginx.js";
import { type GpgHome, makeGpgHome } from "../unit/sign/_gpg.js";

const ARBOR = resolve(__dirname, "../../bin/arbor");
let dir: string;
let g: GpgHome;
let tree: string;
const servers: RunningServer[] = [];

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}
function fails(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  expect(r.status, `${cmd} ${args.join(" ")} should fail:\n${r.stdout}${r.stderr}`).not.toBe(0);
  return r.stderr;
}

/** Add a signature made by gpg directly (faked clock allowed) to a commit's detached metadata. */
async function injectSignature(repoPath: string, commit: string, sig: Buffer): Promise<void> {
  const repo = Repo.open(repoPath);
  await writeDetachedMetadata(
    repo,
    commit,
    appendSignatures(repo.loadCommitMeta(commit), "ostree.gpgsigs", [sig]),
  );
}

function writeKeyring(name: string, ...parts: Buffer[]): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.concat(parts));
  return p;
}

function client(tool: string, name: string, url: string, keyring: string): string {
  const repo = join(dir, name);
  run(tool, ["init", `--repo=${repo}`, "--mode=bare-user"]);
  run(tool, ["remote", "add", `--repo=${repo}`, "--set=gpg-verify-summary=true", "origin", url]);
  run(tool, ["remote", "gpg-import", `--repo=${repo}`, "-k", keyring, "origin"]);
  return repo;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-pullgpg-"));
  g = makeGpgHome(dir);
  tree = join(dir, "tree");
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  writeFileSync(join(tree, "usr/bin/tool"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  writeFileSync(join(tree, "big"), Buffer.alloc(3 * 1024 * 1024, 7));
  writeFileSync(join(tree, "README"), "hello\n");
  symlinkSync("README", join(tree, "link"));
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  g?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** Build a signed archive repo with `tool`: main (good key), rev (revoked key), exp (expired key). */
async function buildSource(
  tool: string,
  name: string,
): Promise<{ path: string; url: string; main: string; exp: string; rev: string }> {
  const path = join(dir, name);
  run(tool, ["init", `--repo=${path}`, "--mode=archive"]);
  const commit = (b: string, extra: string[]): string =>
    run(tool, ["commit", `--repo=${path}`, "-b", b, "-s", b, ...extra, tree]).trim();
  const main = commit("main", [`--gpg-sign=${g.good}`, `--gpg-homedir=${g.home}`]);
  const rev = commit("rev", [`--gpg-sign=${g.revoked}`, `--gpg-homedir=${g.home}`]);
  const exp = commit("exp", []);
  const expBytes = readFileSync(join(path, "objects", exp.slice(0, 2), `${exp.slice(2)}.commit`));
  await injectSignature(path, exp, g.sign(expBytes.toString("latin1"), g.expired, "20200101T010000"));
  run(tool, ["summary", "-u", `--repo=${path}`, `--gpg-sign=${g.good}`, `--gpg-homedir=${g.home}`]);
  const srv = await startNginx({ root: path, dir: join(dir, `${name}-nginx`) });
  servers.push(srv);
  return { path, url: srv.url, main, exp, rev };
}

function expectSameTree(tool: string, repo: string, ref: string, checkoutName: string): void {
  const out = join(dir, checkoutName);
  run("ostree", ["checkout", `--repo=${repo}`, "-U", ref, out]);
  expect(readFileSync(join(out, "README"), "utf8")).toBe("hello\n");
  expect(readFileSync(join(out, "big")).equals(Buffer.alloc(3 * 1024 * 1024, 7))).toBe(true);
  expect(readFileSync(join(out, "usr/bin/tool"), "utf8")).toContain("echo hi");
  void tool;
}

describe("arbor-signed repo, pulled by ostree", () => {
  let src: Awaited<ReturnType<typeof buildSource>>;
  beforeAll(async () => {
    src = await buildSource(ARBOR, "arbor-src");
  }, 120_000);

  it("ostree verifies arbor's GPG commit and summary signatures and pulls", () => {
    const c = client("ostree", "o-good", src.url, writeKeyring("good.gpg", g.exportKeys(g.good)));
    run("ostree", ["pull", `--repo=${c}`, "origin", "main"]);
    expect(run("ostree", ["rev-parse", `--repo=${c}`, "origin:main"]).trim()).toBe(src.main);
    run("ostree", ["fsck", `--repo=${c}`]);
    expectSameTree("ostree", c, "origin:main", "co-o-good");
    expect(run("ostree", ["show", `--repo=${c}`, "origin:main"])).toMatch(
      /Good signature from "Arbor Good <good@example.com>"/,
    );
  });

  it("ostree refuses arbor's summary and commit with the wrong key", () => {
    const c = client("ostree", "o-wrong", src.url, writeKeyring("other.gpg", g.exportKeys(g.other)));
    expect(fails("ostree", ["pull", `--repo=${c}`, "origin", "main"])).toMatch(
      /public key not found|signature/i,
    );
    run("ostree", ["config", `--repo=${c}`, "set", 'remote "origin".gpg-verify-summary', "false"]);
    expect(fails("ostree", ["pull", `--repo=${c}`, "origin", "main"])).toMatch(/public key not found/);
    expect(spawnSync("ostree", ["rev-parse", `--repo=${c}`, "origin:main"]).status).not.toBe(0);
  });

  it("ostree refuses a commit signed by an expired key and by a revoked key", () => {
    const ring = writeKeyring("exp-rev.gpg", g.exportKeys(g.good, g.expired), g.exportRevoked());
    const c = client("ostree", "o-exprev", src.url, ring);
    run("ostree", ["pull", `--repo=${c}`, "origin", "main"]);
    expect(fails("ostree", ["pull", `--repo=${c}`, "origin", "exp"])).toMatch(/expired/i);
    expect(fails("ostree", ["pull", `--repo=${c}`, "origin", "rev"])).toMatch(/revoked/i);
  });
});

describe("ostree-signed repo, pulled by arbor", () => {
  let src: Awaited<ReturnType<typeof buildSource>>;
  beforeAll(async () => {
    src = await buildSource("ostree", "ostree-src");
  }, 120_000);

  it("arbor verifies ostree's GPG commit and summary signatures and pulls", () => {
    const c = client(ARBOR, "a-good", src.url, writeKeyring("good2.gpg", g.exportKeys(g.good)));
    const out = run(ARBOR, ["pull", `--repo=${c}`, "origin", "main"]);
    expect(out).toMatch(
      /^\d+ metadata, \d+ content objects fetched; .* transferred in \d+ seconds; .* content written\n$/,
    );
    expect(run("ostree", ["rev-parse", `--repo=${c}`, "origin:main"]).trim()).toBe(src.main);
    run("ostree", ["fsck", `--repo=${c}`]);
    expectSameTree(ARBOR, c, "origin:main", "co-a-good");
  });

  it("arbor refuses ostree's summary and commit with the wrong key; no ref moves", () => {
    const c = client(ARBOR, "a-wrong", src.url, writeKeyring("other2.gpg", g.exportKeys(g.other)));
    expect(fails(ARBOR, ["pull", `--repo=${c}`, "origin", "main"])).toMatch(
      /Summary of remote "origin".*public key not found/s,
    );
    run(ARBOR, ["config", `--repo=${c}`, "set", 'remote "origin".gpg-verify-summary', "false"]);
    const err = fails(ARBOR, ["pull", `--repo=${c}`, "origin", "main"]);
    expect(err).toContain(`Commit ${src.main}`);
    expect(err).toMatch(/key ID [0-9A-F]{16}\n?.*public key not found/s);
    expect(spawnSync("ostree", ["rev-parse", `--repo=${c}`, "origin:main"]).status).not.toBe(0);
    run("ostree", ["fsck", `--repo=${c}`]);
  });

  it("arbor refuses a commit signed by an expired key and by a revoked key", () => {
    const ring = writeKeyring("exp-rev2.gpg", g.exportKeys(g.good, g.expired), g.exportRevoked());
    const c = client(ARBOR, "a-exprev", src.url, ring);
    run(ARBOR, ["pull", `--repo=${c}`, "origin", "main"]);
    expect(fails(ARBOR, ["pull", `--repo=${c}`, "origin", "exp"])).toMatch(/Key expired/);
    expect(fails(ARBOR, ["pull", `--repo=${c}`, "origin", "rev"])).toMatch(/Key revoked/);
    expect(spawnSync("ostree", ["rev-parse", `--repo=${c}`, "origin:exp"]).status).not.toBe(0);
    run("ostree", ["fsck", `--repo=${c}`]);
  });
});
