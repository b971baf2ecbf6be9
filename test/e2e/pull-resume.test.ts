/**
 * An interrupted pull resumes: `arbor pull` is killed with SIGKILL after it has published some
 * objects; the repository then passes `ostree fsck` with the commit marked partial and no ref,
 * and the re-run completes, fetching only the objects that were missing.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PULL_CONCURRENCY } from "../../src/pull/fetcher.js";
import { ARBOR, arbor, ok, ostree, tempDir } from "../helpers/cli.js";
import { type FaultServer, startFaultServer } from "../helpers/nginx.js";

let t: ReturnType<typeof tempDir>;
let src: string;
let commit: string;
let slow: FaultServer;
let fastSrv: FaultServer;
const FILES = 1200;
/** Each object's delay on the slow server: the whole pull would take ~14 s. */
const STALL_MS = Math.ceil((14_000 * PULL_CONCURRENCY) / FILES);

/** Run arbor without blocking this process's event loop (the test servers live in it). */
function arborAsync(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(ARBOR, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (b) => (out += b));
    child.stderr.on("data", (b) => (out += b));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

function contentObjects(repo: string): Set<string> {
  const out = new Set<string>();
  const objs = join(repo, "objects");
  if (!existsSync(objs)) return out;
  for (const d of readdirSync(objs))
    for (const f of readdirSync(join(objs, d))) if (f.endsWith(".file")) out.add(d + f.slice(0, -5));
  return out;
}

beforeAll(async () => {
  t = tempDir("arbor-pull-resume-");
  src = join(t.dir, "src");
  const tree = join(t.dir, "tree");
  for (let i = 0; i < FILES; i++) {
    const d = join(tree, `d${i % 23}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}`), `content of file ${i}\n`);
  }
  ok(arbor(["init", `--repo=${src}`, "--mode=archive"]));
  commit = ok(arbor(["commit", `--repo=${src}`, "-b", "main", "-s", "m", tree]));
  ok(arbor(["summary", "-u", `--repo=${src}`]));
  slow = await startFaultServer({
    root: src,
    // 1200 objects, PULL_CONCURRENCY at a time: ~14 s in all, past the first publish (10 s)
    decide: (p) => (p.endsWith(".filez") ? { kind: "stall", ms: STALL_MS } : { kind: "serve" }),
  });
  fastSrv = await startFaultServer({ root: src });
}, 180_000);

afterAll(async () => {
  await slow?.stop();
  await fastSrv?.stop();
  t?.cleanup();
});

describe("interrupted pull", () => {
  it("kill -9 mid-pull, then re-run: fsck-clean in between, only missing objects fetched", async () => {
    const repo = join(t.dir, "client");
    ok(arbor(["init", `--repo=${repo}`, "--mode=bare-user"]));
    ok(arbor(["remote", "add", `--repo=${repo}`, "--no-gpg-verify", "origin", slow.url]));
    const child = spawn(ARBOR, ["pull", `--repo=${repo}`, "origin", "main"], { stdio: "ignore" });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    // wait until a batch has been published (objects visible), then kill
    const deadline = Date.now() + 120_000;
    while (contentObjects(repo).size === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    child.kill("SIGKILL");
    await exited;
    const present = contentObjects(repo);
    expect(present.size).toBeGreaterThan(0);
    expect(present.size).toBeLessThan(FILES);
    expect(existsSync(join(repo, "state", `${commit}.commitpartial`))).toBe(true);
    expect(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]).code).not.toBe(0);
    ok(ostree(["fsck", `--repo=${repo}`]), "ostree fsck after kill");

    ok(arbor(["config", `--repo=${repo}`, "set", 'remote "origin".url', fastSrv.url]));
    const again = await arborAsync(["pull", `--repo=${repo}`, "origin", "main"]);
    expect(again.code, again.out).toBe(0);
    const fetched = fastSrv
      .requests()
      .filter((p) => p.endsWith(".filez"))
      .map((p) => p.slice(9, 11) + p.slice(12, 74));
    for (const cs of fetched) expect(present.has(cs), `re-fetched ${cs}`).toBe(false);
    expect(fetched.length + present.size).toBe(contentObjects(repo).size);
    expect(existsSync(join(repo, "state", `${commit}.commitpartial`))).toBe(false);
    expect(ok(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(commit);
    ok(ostree(["fsck", `--repo=${repo}`]), "ostree fsck after resume");
  });
});
