/**
 * `arbor pull` as a user runs it, against nginx on 127.0.0.1 serving an archive repo written by
 * arbor: ed25519-signed commits and summary (required by the remote), wrong keys and unsigned
 * commits refused, and the pull options (--depth, --commit-metadata-only, --subpath, --mirror,
 * --timestamp-check, --localcache-repo, --dry-run), summary caching. Every client repo must pass
 * `ostree fsck`. Needs `npm run build`.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateEd25519KeyPair } from "../../src/sign/ed25519.js";
import { arbor, ok, ostree, tempDir } from "../helpers/cli.js";
import { type RunningServer, startNginx } from "../helpers/nginx.js";

let t: ReturnType<typeof tempDir>;
let srv: RunningServer;
let src: string;
const key = generateEd25519KeyPair();
const other = generateEd25519KeyPair();
const c: Record<string, string> = {};

function commit(branch: string, tree: string, extra: string[] = []): string {
  return ok(
    arbor(["commit", `--repo=${src}`, "-b", branch, "-s", branch, ...extra, tree]),
    `commit ${branch}`,
  );
}

function client(name: string, extra: string[] = [], mode = "bare-user"): string {
  const repo = join(t.dir, name);
  ok(arbor(["init", `--repo=${repo}`, `--mode=${mode}`]));
  ok(arbor(["remote", "add", `--repo=${repo}`, ...extra, "origin", srv.url]));
  return repo;
}

function signedClient(name: string, pub = key.public, mode?: string): string {
  return client(
    name,
    ["--no-gpg-verify", `--sign-verify=ed25519=inline:${pub}`, "--set=sign-verify-summary=true"],
    mode,
  );
}

function fsckBoth(repo: string): void {
  ok(ostree(["fsck", `--repo=${repo}`]), "ostree fsck");
  ok(arbor(["fsck", `--repo=${repo}`]), "arbor fsck");
}

beforeAll(async () => {
  t = tempDir("arbor-e2e-pull-");
  src = join(t.dir, "src");
  const t1 = join(t.dir, "t1");
  mkdirSync(join(t1, "usr/bin"), { recursive: true });
  mkdirSync(join(t1, "etc"), { recursive: true });
  writeFileSync(join(t1, "usr/bin/a"), "a1\n");
  writeFileSync(join(t1, "usr/bin/b"), "b1\n");
  writeFileSync(join(t1, "etc/conf"), "conf\n");
  writeFileSync(join(t1, "big"), Buffer.alloc(2 * 1024 * 1024, 3));
  ok(arbor(["init", `--repo=${src}`, "--mode=archive"]));
  c.v1 = commit("main", t1, [`--sign=${key.secret}`, "--timestamp=2024-01-01 00:00:00"]);
  writeFileSync(join(t1, "usr/bin/a"), "a2\n");
  c.v2 = commit("main", t1, [`--sign=${key.secret}`, "--timestamp=2024-02-01 00:00:00"]);
  c.unsigned = commit("unsigned", t1);
  ok(arbor(["summary", "-u", `--repo=${src}`, `--sign=${key.secret}`]));
  srv = await startNginx({ root: src, dir: t.dir });
}, 120_000);

afterAll(async () => {
  await srv?.stop();
  t?.cleanup();
});

describe("arbor pull (ed25519, nginx)", () => {
  it("pulls a commit signed with the remote's key, summary verified, and prints ostree's line", () => {
    const repo = signedClient("good");
    const r = arbor(["pull", `--repo=${repo}`, "origin", "main"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^\d+ metadata, \d+ content objects fetched; \d+ KiB transferred in \d+ seconds; 2\.1\u00a0MB content written\n$/,
    );
    expect(ok(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(c.v2);
    expect(existsSync(join(repo, "state", `${c.v2}.commitpartial`))).toBe(false);
    fsckBoth(repo);
    ok(ostree(["checkout", `--repo=${repo}`, "-U", "origin:main", join(t.dir, "co-good")]));
    expect(readFileSync(join(t.dir, "co-good/usr/bin/a"), "utf8")).toBe("a2\n");
  });

  it("refuses a wrong key (summary, then commit) and an unsigned commit; no ref moves", () => {
    const repo = signedClient("wrong", other.public);
    let r = arbor(["pull", `--repo=${repo}`, "origin", "main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Summary of remote "origin": Can't verify summary: ed25519: Signature couldn't be verified with: key '[0-9a-f]{64}'/,
    );
    ok(arbor(["config", `--repo=${repo}`, "set", 'remote "origin".sign-verify-summary', "false"]));
    r = arbor(["pull", `--repo=${repo}`, "origin", "main"]);
    expect(r.stderr).toContain(
      `Commit ${c.v2}: Can't verify commit: ed25519: Signature couldn't be verified with: key`,
    );
    const good = signedClient("unsigned");
    r = arbor(["pull", `--repo=${good}`, "origin", "unsigned"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Commit ${c.unsigned}: Can't verify commit: Can't verify commit without detached metadata`,
    );
    for (const repoPath of [repo, good]) {
      expect(arbor(["refs", `--repo=${repoPath}`]).stdout).toBe("");
      fsckBoth(repoPath);
    }
  });

  it("--depth=1 fetches the parent too; depth 0 leaves history out", () => {
    const a = signedClient("depth0");
    ok(arbor(["pull", `--repo=${a}`, "origin", "main"]));
    expect(existsSync(join(a, "objects", c.v1!.slice(0, 2), `${c.v1!.slice(2)}.commit`))).toBe(false);
    const b = signedClient("depth1");
    ok(arbor(["pull", `--repo=${b}`, "--depth=1", "origin", "main"]));
    expect(existsSync(join(b, "objects", c.v1!.slice(0, 2), `${c.v1!.slice(2)}.commit`))).toBe(true);
    expect(existsSync(join(b, "state", `${c.v1}.commitpartial`))).toBe(false);
    fsckBoth(b);
  });

  it("--commit-metadata-only stores the commit marked partial; a full pull completes it", () => {
    const repo = signedClient("metaonly");
    ok(arbor(["pull", `--repo=${repo}`, "--commit-metadata-only", "origin", "main"]));
    expect(existsSync(join(repo, "state", `${c.v2}.commitpartial`))).toBe(true);
    ok(ostree(["fsck", `--repo=${repo}`]));
    ok(arbor(["pull", `--repo=${repo}`, "origin", "main"]));
    expect(existsSync(join(repo, "state", `${c.v2}.commitpartial`))).toBe(false);
    fsckBoth(repo);
  });

  it("an update pull walks the dirtrees it holds: fetches what changed and what went missing below them", () => {
    const repo = signedClient("update");
    ok(arbor(["pull", `--repo=${repo}`, "origin", `main@${c.v1}`]));
    // v2 changes usr/bin/a only: fetched are the commit, its detached metadata (the signature),
    // the new root, usr and usr/bin dirtrees, and usr/bin/a; etc/ is held and walked, and the
    // content object deleted below it is fetched again.
    const conf = ok(ostree(["ls", `--repo=${repo}`, "-C", c.v1, "/etc/conf"]));
    const confCs = conf.trim().split(/\s+/)[4]!;
    rmSync(join(repo, "objects", confCs.slice(0, 2), `${confCs.slice(2)}.file`));
    const out = ok(arbor(["pull", `--repo=${repo}`, "origin", "main"]));
    expect(out).toMatch(/^5 metadata, 2 content objects fetched/m);
    fsckBoth(repo);
  });

  it("an update pull names a held dirtree that is corrupt", () => {
    const repo = signedClient("update-corrupt");
    ok(arbor(["pull", `--repo=${repo}`, "origin", `main@${c.v1}`]));
    const etc = ok(ostree(["ls", `--repo=${repo}`, "-d", "-C", c.v1, "/etc"]));
    const etcTree = etc.trim().split(/\s+/)[4]!;
    writeFileSync(join(repo, "objects", etcTree.slice(0, 2), `${etcTree.slice(2)}.dirtree`), "not a dirtree");
    const r = arbor(["pull", `--repo=${repo}`, "origin", "main"]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(etcTree);
    expect(readFileSync(join(repo, "refs/remotes/origin/main"), "utf8").trim()).toBe(c.v1);
  });

  it("--subpath fetches only that subtree and leaves the commit partial", () => {
    const repo = signedClient("subpath");
    ok(arbor(["pull", `--repo=${repo}`, "--subpath=/usr/bin", "origin", "main"]));
    expect(existsSync(join(repo, "state", `${c.v2}.commitpartial`))).toBe(true);
    ok(ostree(["fsck", `--repo=${repo}`]));
    const out = join(t.dir, "co-sub");
    ok(ostree(["checkout", `--repo=${repo}`, "-U", "--subpath=/usr/bin", "origin:main", out]));
    expect(readFileSync(join(out, "b"), "utf8")).toBe("b1\n");
  });

  it("--timestamp-check refuses an older commit, naming both timestamps", () => {
    const repo = signedClient("ts");
    ok(arbor(["pull", `--repo=${repo}`, "origin", "main"]));
    const r = arbor(["pull", `--repo=${repo}`, "-T", "origin", `main@${c.v1}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Upgrade target revision '${c.v1}' with timestamp 'Mon Jan  1 00:00:00 2024' is chronologically older than current revision '${c.v2}' with timestamp 'Thu Feb  1 00:00:00 2024'`,
    );
    expect(ok(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(c.v2);
  });

  it("--mirror into an archive repo writes refs/heads and copies the summary verbatim", () => {
    const repo = client("mirror", ["--no-gpg-verify"], "archive");
    ok(arbor(["pull", `--repo=${repo}`, "--mirror", "origin"]));
    expect(ok(arbor(["rev-parse", `--repo=${repo}`, "main"]))).toBe(c.v2);
    expect(readFileSync(join(repo, "summary")).equals(readFileSync(join(src, "summary")))).toBe(true);
    expect(readFileSync(join(repo, "summary.sig")).equals(readFileSync(join(src, "summary.sig")))).toBe(true);
    fsckBoth(repo);
  });

  it("-L takes objects from a local cache repo; the summary is cached and reused", () => {
    const first = signedClient("cache1");
    ok(arbor(["pull", `--repo=${first}`, "origin", "main"]));
    const before = srv.requests().length;
    const second = signedClient("cache2");
    const out = ok(arbor(["pull", `--repo=${second}`, `--localcache-repo=${first}`, "origin", "main"]));
    expect(out).toMatch(/\(\d+ meta, \d+ content local\)/);
    const reqs = srv.requests().slice(before);
    expect(reqs.filter((p) => p.endsWith(".filez"))).toEqual([]);
    fsckBoth(second);
    // a second pull into the same repo: summary.sig unchanged, so the summary is not downloaded again
    const mark = srv.requests().length;
    ok(arbor(["pull", `--repo=${second}`, "origin", "main"]));
    const again = srv.requests().slice(mark);
    expect(again).toContain("/summary.sig");
    expect(again).not.toContain("/summary");
  });

  it("--dry-run resolves and verifies but writes nothing", () => {
    const repo = signedClient("dry");
    const out = ok(arbor(["pull", `--repo=${repo}`, "--dry-run", "origin", "main"]));
    expect(out).toContain(c.v2);
    expect(arbor(["refs", `--repo=${repo}`]).stdout).toBe("");
    expect(existsSync(join(repo, "objects", c.v2!.slice(0, 2)))).toBe(false);
  });

  it("remote refs and remote summary read the remote's summary", () => {
    const repo = signedClient("remoterefs");
    expect(ok(arbor(["remote", "refs", `--repo=${repo}`, "origin"])).split("\n")).toEqual([
      "origin:main",
      "origin:unsigned",
    ]);
    expect(ok(arbor(["remote", "summary", `--repo=${repo}`, "origin"]))).toContain(
      `* main\n    Latest Commit (`,
    );
  });

  it("an unreadable .commitmeta is ignored when no signature is required, refused when one is", () => {
    const meta = join(src, "objects", c.unsigned!.slice(0, 2), `${c.unsigned!.slice(2)}.commitmeta`);
    writeFileSync(meta, "borkborkbork\n");
    try {
      const plain = client("badmeta-plain", ["--no-gpg-verify"]);
      ok(arbor(["config", `--repo=${plain}`, "set", "core.auto-update-summary", "true"]));
      ok(arbor(["pull", `--repo=${plain}`, "origin", "unsigned"]));
      expect(ok(arbor(["rev-parse", `--repo=${plain}`, "origin:unsigned"]))).toBe(c.unsigned);
      // core.auto-update-summary: the pull moved a ref, so the summary was regenerated
      expect(existsSync(join(plain, "summary"))).toBe(true);
      fsckBoth(plain);
      const signed = signedClient("badmeta-signed");
      const r = arbor(["pull", `--repo=${signed}`, "origin", "unsigned"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Commit ${c.unsigned}: Can't verify commit`);
      expect(arbor(["refs", `--repo=${signed}`]).stdout).toBe("");
    } finally {
      rmSync(meta, { force: true });
    }
  });
});
