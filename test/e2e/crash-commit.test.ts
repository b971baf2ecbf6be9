/**
 * Crash safety of writes (issue "Repository core" §3): killing `arbor commit` at any moment,
 * running out of disk space mid-commit, and concurrent writers all leave a repository that
 * `arbor fsck` and `ostree fsck` pass, with refs pointing only at complete commits.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARBOR, arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let tree: string;

function makeTree(root: string, files: number, seed: number): void {
  for (let i = 0; i < files; i++) {
    const d = join(root, `d${i % 17}`, `e${i % 5}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, `f${i}`), `${seed}:${i}:${"x".repeat((i * 37) % 3000)}`);
  }
}

function assertRepoValid(repo: string, ref: string): void {
  const f = arbor(["fsck", `--repo=${repo}`]);
  expect(f.code, `arbor fsck: ${f.stdout}${f.stderr}`).toBe(0);
  if (hasOstree) {
    const o = ostree(["fsck", `--repo=${repo}`]);
    expect(o.code, `ostree fsck: ${o.stdout}${o.stderr}`).toBe(0);
  }
  const r = arbor(["rev-parse", `--repo=${repo}`, ref]);
  if (r.code === 0) ok(arbor(["ls", `--repo=${repo}`, "-R", ref]), "ls of the ref after a crash");
}

function runKilled(
  args: string[],
  delayMs: number,
  env: Record<string, string> = {},
): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(ARBOR, args, { stdio: "ignore", env: { ...process.env, ...env } });
    const timer = setTimeout(() => child.kill("SIGKILL"), delayMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

beforeAll(() => {
  t = tempDir("arbor-crash-");
  tree = join(t.dir, "tree");
  makeTree(tree, 400, 1);
});
afterAll(() => t.cleanup());

describe("kill -9 during commit", () => {
  for (const mode of ["archive", "bare-user"]) {
    it(`leaves a valid ${mode} repository at every fault point and random moment`, async () => {
      const repo = join(t.dir, `kill-${mode}`);
      ok(arbor(["init", `--repo=${repo}`, `--mode=${mode}`]));
      const args = ["commit", `--repo=${repo}`, "-b", "main", tree];
      // deterministic points: the N-th object written, published (renamed into objects/), the ref write
      const points = [
        "write-object:1",
        "write-object:200",
        "publish-object:1",
        "publish-object:150",
        "publish-object:420",
        "write-ref:1",
      ];
      for (const [i, p] of points.entries()) {
        // a fresh repository per point, so the N-th object is always reached (no deduplication)
        const fresh = join(t.dir, `kill-${mode}-${i}`);
        ok(arbor(["init", `--repo=${fresh}`, `--mode=${mode}`]));
        const code = await runKilled(["commit", `--repo=${fresh}`, "-b", "main", tree], 60_000, {
          ARBOR_FAULT: p,
        });
        expect(code, `fault ${p} should have killed the process`).toBeNull();
        assertRepoValid(fresh, "main");
      }
      // random moments
      for (let i = 0; i < 8; i++) {
        await runKilled(args, 50 + Math.floor(Math.random() * 900));
        assertRepoValid(repo, "main");
      }
      // and the same command then succeeds
      const cs = ok(arbor(args));
      expect(ok(arbor(["rev-parse", `--repo=${repo}`, "main"]))).toBe(cs);
      assertRepoValid(repo, "main");
    }, 240_000);
  }
});

describe("disk full mid-commit", () => {
  it("fails with a clear error, moves no ref, and leaves the repository valid", () => {
    const repo = join(t.dir, "enospc");
    ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
    const first = ok(arbor(["commit", `--repo=${repo}`, "-b", "main", tree]));
    const tree2 = join(t.dir, "tree2");
    makeTree(tree2, 100, 2);
    const r = arbor(["commit", `--repo=${repo}`, "-b", "main", tree2], {
      env: { ARBOR_FAULT_ENOSPC: "write-object:20" },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*(No space|ENOSPC)/m);
    expect(ok(arbor(["rev-parse", `--repo=${repo}`, "main"]))).toBe(first);
    assertRepoValid(repo, "main");
  });
});

describe("concurrent writers", () => {
  it("two arbor commits and an ostree commit at once all land", async () => {
    // each tool claims its own staging dir with an OFD lock on `tmp/staging-…-lock`; without that,
    // ostree's tmp cleanup removed (or reused) arbor's live staging dir. Several rounds: it is a race.
    const run = (cmd: string, args: string[]) =>
      new Promise<{ code: number | null; err: string }>((resolve) => {
        const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
        let err = "";
        c.stderr.on("data", (d: Buffer) => {
          err += d.toString();
        });
        c.on("exit", (code) => resolve({ code, err }));
      });
    for (let round = 0; round < 3; round++) {
      const repo = join(t.dir, `concurrent-${round}`);
      ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
      // ref names that are not hex: "a" would also be a checksum prefix, which rev-parse (as
      // ostree) tries first and finds "not unique" when two of the commits start with "a"
      const jobs = [
        run(ARBOR, ["commit", `--repo=${repo}`, "-b", "ref-a", tree]),
        run(ARBOR, ["commit", `--repo=${repo}`, "-b", "ref-b", tree]),
      ];
      if (hasOstree) jobs.push(run("ostree", ["commit", `--repo=${repo}`, "-b", "ref-c", tree]));
      const results = await Promise.all(jobs);
      expect(results).toEqual(jobs.map(() => ({ code: 0, err: "" })));
      const a = ok(arbor(["rev-parse", `--repo=${repo}`, "ref-a"]));
      expect(ok(arbor(["ls", `--repo=${repo}`, "-R", a])).split("\n").length).toBeGreaterThan(400);
      assertRepoValid(repo, "ref-a");
      // nothing left behind: no staging dir, no lock file
      expect(readdirSync(join(repo, "tmp")).filter((n) => n.startsWith("staging-"))).toEqual([]);
    }
  }, 180_000);

  it.skipIf(!hasOstree)("ostree prune waits for arbor's commit (shared vs exclusive repo lock)", async () => {
    const repo = join(t.dir, "lockwait");
    ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
    ok(arbor(["config", `--repo=${repo}`, "set", "core.lock-timeout-secs", "1"]));
    // hold arbor's commit just before publishing: it has the shared lock then
    const child = spawn(ARBOR, ["commit", `--repo=${repo}`, "-b", "main", tree], {
      stdio: "ignore",
      env: { ...process.env, ARBOR_FAULT_PAUSE: "publish-object:1" },
    });
    await new Promise((r) => setTimeout(r, 1500));
    const p = ostree(["prune", `--repo=${repo}`, "--refs-only"]);
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    expect(p.code).not.toBe(0);
    expect(p.stderr).toMatch(/Locking repo exclusive failed/);
  });
});
