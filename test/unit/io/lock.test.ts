import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { acquireLock, type LockHandle, type LockMode, withLock } from "../../../src/io/lock.js";
import { collect, makeTmpDir, spawnTs, srcModule, waitForOutput } from "./_helpers.js";

const OSTREE = "/usr/bin/ostree";
const haveOstree = fs.existsSync(OSTREE);

let dir: string;
let cleanup: () => void;
const children: ChildProcess[] = [];
const handles: LockHandle[] = [];

beforeAll(() => {
  ({ dir, cleanup } = makeTmpDir("arbor-lock-"));
});
afterEach(() => {
  for (const h of handles.splice(0)) h.release();
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});
afterAll(() => cleanup());

async function lock(path: string, mode: LockMode, opts: Parameters<typeof acquireLock>[2] = {}) {
  const h = await acquireLock(path, mode, opts);
  handles.push(h);
  return h;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/**
 * A child process that takes the lock with acquireLock() and holds it until its stdin closes.
 * Resolves once the child reports the lock held.
 */
async function holdInChild(
  path: string,
  mode: LockMode,
): Promise<{ child: ChildProcess; release: () => Promise<void> }> {
  const script = `
    import { acquireLock } from ${JSON.stringify(srcModule("io/lock.ts"))};
    const [path, mode] = process.argv.slice(1);
    const lock = await acquireLock(path, mode, { timeoutMs: 10000 });
    process.stdout.write("HELD\\n");
    process.stdin.resume();
    process.stdin.on("end", () => { lock.release(); process.stdout.write("RELEASED\\n"); process.exit(0); });`;
  const child = spawnTs(script, [path, mode]);
  children.push(child);
  await waitForOutput(child, "HELD");
  const done = collect(child);
  return {
    child,
    release: async () => {
      child.stdin!.end();
      const r = await done;
      expect(r.code).toBe(0);
    },
  };
}

/**
 * Ask a fresh child whether it could take the lock right now. It uses the addon's raw fcntl call
 * (not acquireLock), which makes it an independent check and starts much faster than tsx.
 */
async function childCanLock(path: string, mode: LockMode): Promise<boolean> {
  const script = `
    const fs = require("node:fs");
    const n = require(${JSON.stringify(srcModule("../native/build/Release/arbor_native.node"))});
    const fd = fs.openSync(process.argv[1], "r+");
    process.stdout.write(n.ofdLock(fd, process.argv[2] === "exclusive", false) ? "FREE" : "BUSY");`;
  const r = await collect(spawn(process.execPath, ["-e", script, path, mode]));
  if (r.stdout !== "FREE" && r.stdout !== "BUSY") throw new Error(`child failed: ${r.stdout}${r.stderr}`);
  return r.stdout === "FREE";
}

describe("acquireLock() across processes", () => {
  it("shared locks coexist; an exclusive lock excludes both kinds", async () => {
    const p = join(dir, "a.lock");
    const shared = await holdInChild(p, "shared");
    expect(await childCanLock(p, "shared")).toBe(true);
    expect(await childCanLock(p, "exclusive")).toBe(false);
    const mine = await lock(p, "shared", { timeoutMs: 0 });
    expect(mine.mode).toBe("shared");
    mine.release();
    await shared.release();

    const exclusive = await holdInChild(p, "exclusive");
    expect(await childCanLock(p, "shared")).toBe(false);
    expect(await childCanLock(p, "exclusive")).toBe(false);
    await exclusive.release();
    expect(await childCanLock(p, "exclusive")).toBe(true);
  });

  it("times out with LOCKED naming the path, after telling onWait once", async () => {
    const p = join(dir, "b.lock");
    const holder = await holdInChild(p, "exclusive");
    const messages: string[] = [];
    const started = Date.now();
    const e = await rejection(lock(p, "shared", { timeoutMs: 300, onWait: (m) => messages.push(m) }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(isArborError(e, "LOCKED")).toBe(true);
    expect((e as Error).message).toContain(`Cannot lock "${p}" for shared access: held by another process`);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(p);
    await holder.release();
  });

  it("waits for the holder and gets the lock once it is released", async () => {
    const p = join(dir, "c.lock");
    const holder = await holdInChild(p, "exclusive");
    let waited = 0;
    const pending = lock(p, "exclusive", { timeoutMs: 15_000, onWait: () => waited++ });
    await new Promise((r) => setTimeout(r, 200));
    await holder.release();
    const h = await pending;
    expect(h.mode).toBe("exclusive");
    expect(waited).toBe(1);
    expect(await childCanLock(p, "shared")).toBe(false);
  });

  it("stops waiting with ABORTED when the signal aborts", async () => {
    const p = join(dir, "d.lock");
    const holder = await holdInChild(p, "exclusive");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await rejection(lock(p, "exclusive", { timeoutMs: 10_000, signal: ac.signal }));
    expect(isArborError(e, "ABORTED")).toBe(true);
    await holder.release();
  });

  it("upgrade() turns shared into exclusive, and keeps shared when another holder blocks it", async () => {
    const p = join(dir, "e.lock");
    const h = await lock(p, "shared");
    const other = await holdInChild(p, "shared");
    const e = await rejection(h.upgrade({ timeoutMs: 200 }));
    expect(isArborError(e, "LOCKED")).toBe(true);
    expect(h.mode).toBe("shared");
    await other.release();
    await h.upgrade({ timeoutMs: 1000 });
    expect(h.mode).toBe("exclusive");
    expect(await childCanLock(p, "shared")).toBe(false);
    h.downgrade();
    expect(h.mode).toBe("shared");
    expect(await childCanLock(p, "shared")).toBe(true);
    h.release();
    h.release(); // idempotent
    expect(isArborError(await rejection(h.upgrade()), "USAGE")).toBe(true);
  });
});

describe("acquireLock() within one process", () => {
  it("two handles on the same file conflict (OFD locks are per open file, not per process)", async () => {
    const p = join(dir, "f.lock");
    await lock(p, "exclusive");
    expect(isArborError(await rejection(lock(p, "exclusive", { timeoutMs: 50 })), "LOCKED")).toBe(true);
  });

  it("creates the lock file with mode 0640 & ~umask and fails clearly if its directory is missing", async () => {
    const p = join(dir, "g.lock");
    (await lock(p, "shared")).release();
    expect(fs.statSync(p).mode & 0o7777).toBe(0o640 & ~process.umask());
    const e = await rejection(lock(join(dir, "missing", "x.lock"), "shared"));
    expect(isArborError(e, "NOT_FOUND")).toBe(true);
    expect((e as Error).message).toContain("Cannot open lock file");
  });

  it("withLock() releases when the callback throws", async () => {
    const p = join(dir, "h.lock");
    await expect(
      withLock(p, "exclusive", async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    (await lock(p, "exclusive", { timeoutMs: 0 })).release();
  });

  it("unlinkOnRelease removes the file, and a waiter on the unlinked inode re-locks the live file", async () => {
    const p = join(dir, "i.lock");
    const first = await lock(p, "exclusive", { unlinkOnRelease: true });
    // This waiter opens the current inode, then polls.
    const second = lock(p, "exclusive", { timeoutMs: 5000, unlinkOnRelease: true });
    await new Promise((r) => setTimeout(r, 50));
    first.release();
    const h = await second;
    // It must hold a lock on the file that now exists at `p`, not on the deleted inode.
    expect(fs.existsSync(p)).toBe(true);
    expect(await childCanLock(p, "exclusive")).toBe(false);
    h.release();
    expect(fs.existsSync(p)).toBe(false);
  });

  it("a shared holder with unlinkOnRelease leaves the file while others hold it", async () => {
    const p = join(dir, "j.lock");
    const a = await lock(p, "shared", { unlinkOnRelease: true });
    const b = await lock(p, "shared", { unlinkOnRelease: true });
    a.release();
    expect(fs.existsSync(p)).toBe(true);
    b.release();
    expect(fs.existsSync(p)).toBe(false);
  });
});

/**
 * Interop with the real ostree (2022.7 here): it locks `<repo>/.lock` with OFD locks, shared for
 * transactions (commit) and exclusive for prune, giving up after `core.lock-timeout-secs`.
 */
describe.skipIf(!haveOstree)("interop with the real ostree's repo and sysroot locks", () => {
  function ostree(...args: string[]) {
    return spawnSync(OSTREE, args, { encoding: "utf8", timeout: 30_000 });
  }

  function makeRepo(name: string): { repo: string; tree: string } {
    const repo = join(dir, name);
    const tree = join(dir, `${name}-tree`);
    expect(ostree("init", `--repo=${repo}`, "--mode=archive").status).toBe(0);
    // Fail fast instead of ostree's default 30 s wait.
    expect(ostree("config", `--repo=${repo}`, "set", "core.lock-timeout-secs", "1").status).toBe(0);
    fs.mkdirSync(tree);
    fs.writeFileSync(join(tree, "a"), "a\n");
    return { repo, tree };
  }

  it("ostree commit and prune give up while arbor holds the repo lock exclusively", async () => {
    const { repo, tree } = makeRepo("repo-ex");
    const h = await lock(join(repo, ".lock"), "exclusive");
    const commit = ostree("commit", `--repo=${repo}`, "-b", "main", tree);
    expect(commit.status).not.toBe(0);
    expect(commit.stderr).toContain("Locking repo shared failed");
    const prune = ostree("prune", `--repo=${repo}`, "--refs-only");
    expect(prune.status).not.toBe(0);
    expect(prune.stderr).toContain("Locking repo exclusive failed");
    h.release();
    expect(ostree("commit", `--repo=${repo}`, "-b", "main", tree).status).toBe(0);
  });

  it("ostree commit proceeds but prune gives up while arbor holds the repo lock shared", async () => {
    const { repo, tree } = makeRepo("repo-sh");
    const h = await lock(join(repo, ".lock"), "shared");
    const commit = ostree("commit", `--repo=${repo}`, "-b", "main", tree);
    expect(commit.status, commit.stderr).toBe(0);
    const prune = ostree("prune", `--repo=${repo}`, "--refs-only");
    expect(prune.status).not.toBe(0);
    expect(prune.stderr).toContain("Locking repo exclusive failed");
    h.release();
    expect(ostree("prune", `--repo=${repo}`, "--refs-only").status).toBe(0);
  });

  it("arbor sees the shared lock of an ostree commit in progress", async () => {
    const { repo, tree } = makeRepo("repo-fifo");
    // ostree takes its transaction lock, then blocks opening the FIFO until we feed it a tar.
    const fifo = join(dir, "tree.fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const child = spawn(OSTREE, ["commit", `--repo=${repo}`, "-b", "fifo", `--tree=tar=${fifo}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    const done = collect(child);
    const lockPath = join(repo, ".lock");
    let sawBusy = false;
    for (let i = 0; i < 200 && !sawBusy; i++) {
      try {
        (await acquireLock(lockPath, "exclusive", { timeoutMs: 0 })).release();
        await new Promise((r) => setTimeout(r, 25));
      } catch (e) {
        if (!isArborError(e, "LOCKED")) throw e;
        sawBusy = true;
      }
    }
    expect(sawBusy).toBe(true);
    // Shared + shared coexist across the two implementations.
    (await acquireLock(lockPath, "shared", { timeoutMs: 0 })).release();
    expect(spawnSync("tar", ["-cf", fifo, "-C", tree, "."]).status).toBe(0);
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    (await acquireLock(lockPath, "exclusive", { timeoutMs: 0 })).release();
  });

  it("ostree admin waits for arbor's sysroot lock and runs once it is released", async () => {
    const sysroot = join(dir, "sysroot");
    fs.mkdirSync(sysroot);
    expect(ostree("admin", "init-fs", sysroot).status).toBe(0);
    expect(ostree("admin", "os-init", "testos", `--sysroot=${sysroot}`).status).toBe(0);
    const lockPath = join(sysroot, "ostree", "lock");
    const h = await lock(lockPath, "exclusive", { unlinkOnRelease: true });
    const child = spawn(OSTREE, ["admin", "cleanup", `--sysroot=${sysroot}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    const done = collect(child);
    await new Promise((r) => setTimeout(r, 1500));
    expect(child.exitCode).toBeNull(); // still waiting for us
    h.release();
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toContain("Waiting for sysroot lock");
  });
});
