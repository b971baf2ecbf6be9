import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { acquireLock } from "../../../src/io/lock.js";
import { commitTree } from "../../../src/repo/commit.js";
import { fsckRepo } from "../../../src/repo/fsck.js";
import { type PruneOptions, type PruneResult, pruneRepo } from "../../../src/repo/prune.js";
import { writeRefFile } from "../../../src/repo/refs.js";
import type { Repo } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";
import { listLooseObjects, traverseCommit } from "../../../src/repo/traverse.js";
import { collect, spawnTs, srcModule } from "../io/_helpers.js";
import { fileChecksum, makeHistory, tmp } from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-prune-");
});
afterEach(() => t.cleanup());

async function prune(repo: Repo, o: PruneOptions = {}): Promise<PruneResult> {
  return pruneRepo(repo, o);
}

async function fsckOk(repo: Repo): Promise<void> {
  const r = await fsckRepo(repo);
  expect(r.errors).toEqual([]);
  expect(r.ok).toBe(true);
}

/** An orphan: content written by a transaction no commit refers to (an interrupted commit). */
async function writeOrphan(repo: Repo, text: string): Promise<string> {
  const tx = await Transaction.begin(repo);
  const cs = await tx.writeContent(
    { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] },
    Buffer.from(text),
  );
  await tx.commit();
  return cs;
}

const commitsIn = (repo: Repo) => listLooseObjects(repo, "commit").map((k) => k.slice(0, 64));

describe("pruneRepo() default (all commits are roots)", () => {
  it("keeps everything reachable, deletes orphans, and reports sizes", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 3);
    const before = listLooseObjects(repo).length;
    const orphan = await writeOrphan(repo, "orphan data\n");
    const r = await prune(repo);
    expect(r.objectsTotal).toBe(before + 1);
    expect(r.objectsPruned).toBe(1);
    expect(r.bytesFreed).toBeGreaterThan(0);
    expect(repo.hasObject("file", orphan)).toBe(false);
    for (const c of commits) expect(repo.hasObject("commit", c)).toBe(true);
    await fsckOk(repo);
    const again = await prune(repo);
    expect(again.objectsPruned).toBe(0);
  });

  it("with noPrune deletes nothing but counts the same", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const orphan = await writeOrphan(repo, "x");
    const r = await prune(repo, { noPrune: true });
    expect(r.dryRun).toBe(true);
    expect(r.objectsPruned).toBe(1);
    expect(repo.hasObject("file", orphan)).toBe(true);
  });

  it("keeps the objects of a partial commit (no ref needed) and tolerates its missing ones", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    writeRefFile(repo, "main", null);
    writeFileSync(repo.commitPartialPath(commits[0]!), "");
    const gone = fileChecksum(repo, commits[0]!, "sub/deeper/c.txt");
    const { unlinkSync } = await import("node:fs");
    unlinkSync(repo.objectPath(gone, "file"));
    const r = await prune(repo);
    expect(r.objectsPruned).toBe(0);
  });
});

describe("pruneRepo({ refsOnly })", () => {
  it("with depth 0 drops history: older commits, their own objects, their detached metadata and partial markers", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 3);
    const oldOnly = fileChecksum(repo, commits[0]!, "a.txt");
    const shared = fileChecksum(repo, commits[0]!, "same/s.txt");
    writeFileSync(repo.objectPath(commits[0]!, "commitmeta"), new Uint8Array([0]));
    writeFileSync(repo.commitPartialPath(commits[1]!), "");
    const r = await prune(repo, { refsOnly: true, depth: 0 });
    expect(r.commitsPruned.sort()).toEqual([commits[0], commits[1]].sort());
    expect(commitsIn(repo)).toEqual([commits[2]]);
    expect(repo.hasObject("file", oldOnly)).toBe(false);
    expect(repo.hasObject("file", shared)).toBe(true);
    expect(repo.hasObject("commitmeta", commits[0]!)).toBe(false);
    expect(existsSync(repo.commitPartialPath(commits[1]!))).toBe(false);
    expect(new Set(listLooseObjects(repo))).toEqual(traverseCommit(repo, commits[2]!));
    await fsckOk(repo);
  });

  it("keeps depth generations, and what remote refs and mirrors reach", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 4);
    writeRefFile(repo, "old", commits[0]!, "origin");
    mkdirSync(join(repo.path, "refs/mirrors/org.example.Os"), { recursive: true });
    writeFileSync(join(repo.path, "refs/mirrors/org.example.Os/m"), `${commits[1]}\n`);
    await prune(repo, { refsOnly: true, depth: 1 });
    expect(commitsIn(repo).sort()).toEqual([commits[0], commits[1], commits[2], commits[3]].sort());
    writeRefFile(repo, "old", null, "origin");
    await prune(repo, { refsOnly: true, depth: 0 });
    expect(commitsIn(repo).sort()).toEqual([commits[1], commits[3]].sort());
    await fsckOk(repo);
  });

  it("writes tombstones for pruned commits when core.tombstone-commits is on", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    repo.config.setBool("core", "tombstone-commits", true);
    repo.saveConfig();
    await prune(repo, { refsOnly: true, depth: 0 });
    expect(repo.hasObject("tombstone-commit", commits[0]!)).toBe(true);
  });

  it("drops a commit's tombstone when the commit is written again (pulled back), as ostree", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    const bytes = repo.readMetadata("commit", commits[0]!);
    repo.config.setBool("core", "tombstone-commits", true);
    repo.saveConfig();
    await prune(repo, { refsOnly: true, depth: 0 });
    expect(repo.hasObject("commit", commits[0]!)).toBe(false);
    expect(repo.hasObject("tombstone-commit", commits[0]!)).toBe(true);
    const tx = await Transaction.begin(repo);
    expect(tx.writeMetadata("commit", bytes)).toBe(commits[0]);
    await tx.commit();
    expect(repo.hasObject("commit", commits[0]!)).toBe(true);
    expect(repo.hasObject("tombstone-commit", commits[0]!)).toBe(false);
  });

  it("with commitOnly deletes unreachable commits but no other object", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    const oldOnly = fileChecksum(repo, commits[0]!, "a.txt");
    const r = await prune(repo, { refsOnly: true, depth: 0, commitOnly: true });
    expect(r.commitOnly).toBe(true);
    expect(r.objectsTotal).toBe(2);
    expect(r.objectsPruned).toBe(1);
    expect(repo.hasObject("file", oldOnly)).toBe(true);
  });
});

describe("pruneRepo() per-ref rules", () => {
  async function twoBranches() {
    const h = await makeHistory(t.dir, "archive", 4); // main: 2020-01-01..04
    const b = await makeHistory(t.dir, "bare-user-only", 1); // just for another tree source
    const other: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await commitTree(h.repo, {
        trees: [{ kind: "dir", path: join(b.work, "v0") }],
        branch: "other",
        subject: `other ${i}`,
        timestamp: Date.UTC(2021, 0, 1 + i) / 1000,
        ownerUid: 0,
        ownerGid: 0,
      });
      other.push(r.commit);
    }
    return { repo: h.repo, main: h.commits, other };
  }

  it("keepYoungerThan keeps each ref's head and its ancestors at least that new", async () => {
    const { repo, main, other } = await twoBranches();
    // main is all from 2020: only its head stays; other's last two are new enough
    await prune(repo, { keepYoungerThan: Date.UTC(2021, 0, 2) / 1000 });
    expect(commitsIn(repo).sort()).toEqual([main[3], other[1], other[2]].sort());
    await fsckOk(repo);
  });

  it("onlyBranch prunes only the named refs; the others keep their history", async () => {
    const { repo, main, other } = await twoBranches();
    await prune(repo, { onlyBranch: ["main"], depth: 0 });
    expect(commitsIn(repo).sort()).toEqual([main[3], ...other].sort());
  });

  it("retainBranchDepth overrides the depth per ref", async () => {
    const { repo, main, other } = await twoBranches();
    await prune(repo, { retainBranchDepth: [["main", 1]], depth: 0 });
    expect(commitsIn(repo).sort()).toEqual([main[2], main[3], other[2]].sort());
  });

  it("onlyBranch of a ref that does not exist fails before deleting anything", async () => {
    const { repo } = await twoBranches();
    const before = listLooseObjects(repo).length;
    await expect(prune(repo, { onlyBranch: ["nope"] })).rejects.toThrow(/nope/);
    expect(listLooseObjects(repo).length).toBe(before);
  });
});

describe("pruneRepo({ deleteCommit })", () => {
  it("refuses a commit a ref points at, naming the ref", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    await expect(prune(repo, { deleteCommit: commits[1]! })).rejects.toThrow(
      `Commit '${commits[1]}' is referenced by 'main'`,
    );
    expect(repo.hasObject("commit", commits[1]!)).toBe(true);
  });

  it("deletes an unreferenced commit with a tombstone, enables tombstones, then prunes its objects", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    writeRefFile(repo, "main", null);
    writeRefFile(repo, "keep", commits[0]!);
    const onlyNew = fileChecksum(repo, commits[1]!, "a.txt");
    const r = await prune(repo, { deleteCommit: commits[1]! });
    expect(r.deletedCommit).toBe(commits[1]);
    expect(repo.hasObject("commit", commits[1]!)).toBe(false);
    expect(repo.hasObject("tombstone-commit", commits[1]!)).toBe(true);
    expect(repo.config.getBool("core", "tombstone-commits", false)).toBe(true);
    expect(repo.hasObject("file", onlyNew)).toBe(false);
    await fsckOk(repo);
  });

  it("cannot be combined with noPrune; staticDeltasOnly needs it", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    await expect(prune(repo, { deleteCommit: commits[0]!, noPrune: true })).rejects.toThrow(/--no-prune/);
    await expect(prune(repo, { staticDeltasOnly: true })).rejects.toThrow(/requires --delete-commit/);
  });
});

describe("pruneRepo() housekeeping", () => {
  const mb64 = (hex: string) =>
    Buffer.from(hex, "hex").toString("base64").replace(/\//g, "_").replace(/=$/, "");

  it("removes static deltas whose target commit is gone, and only those", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const gone = "ab".repeat(32);
    const mk = (name: string) => {
      const d = join(repo.path, "deltas", name.slice(0, 2), name.slice(2));
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, "superblock"), "x");
      return d;
    };
    const dead = mk(mb64(gone));
    const deadFrom = mk(`${mb64(commits[0]!)}-${mb64(gone)}`);
    const live = mk(mb64(commits[0]!));
    const r = await prune(repo);
    expect(r.deltasPruned.sort()).toEqual([gone, `${commits[0]}-${gone}`].sort());
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(deadFrom)).toBe(false);
    expect(existsSync(live)).toBe(true);
    // --delete-commit --static-deltas-only removes the deltas to that commit, keeps the commit
    const r2 = await prune(repo, { deleteCommit: commits[0]!, staticDeltasOnly: true });
    expect(r2.deltasPruned).toEqual([commits[0]]);
    expect(repo.hasObject("commit", commits[0]!)).toBe(true);
  });

  it("removes staging directories older than a day, keeps fresh ones", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const old = join(repo.path, "tmp/staging-deadbeef-000001");
    const fresh = join(repo.path, "tmp/staging-deadbeef-000002");
    mkdirSync(old);
    mkdirSync(fresh);
    const twoDaysAgo = (Date.now() - 2 * 86400_000) / 1000;
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    const r = await prune(repo);
    expect(r.stagingRemoved).toBe(1);
    expect(readdirSync(join(repo.path, "tmp")).filter((n) => n.startsWith("staging-"))).toEqual([
      "staging-deadbeef-000002",
    ]);
  });
});

describe("pruneRepo() locking and crashes", () => {
  it("fails with LOCKED while another process holds the repo lock shared", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const holder = await acquireLock(repo.lockPath, "shared");
    try {
      let err: unknown;
      try {
        await prune(repo, { lockTimeoutMs: 300 });
      } catch (e) {
        err = e;
      }
      expect(isArborError(err, "LOCKED")).toBe(true);
    } finally {
      holder.release();
    }
    await prune(repo, { lockTimeoutMs: 300 });
  });

  for (const point of ["prune.delete-commit:2", "prune.delete-object:1", "prune.delete-object:7"]) {
    it(`leaves a repository that passes fsck when killed at ${point}`, async () => {
      const { repo, commits } = await makeHistory(t.dir, "archive", 4);
      const script = `
        const { Repo } = await import(${JSON.stringify(srcModule("repo/repo.ts"))});
        const { pruneRepo } = await import(${JSON.stringify(srcModule("repo/prune.ts"))});
        await pruneRepo(Repo.open(process.argv[1]), { refsOnly: true, depth: 0 });
        console.log("finished");`;
      const res = await collect(spawnTs(script, [repo.path], { ARBOR_FAULT: point }));
      expect(res.signal).toBe("SIGKILL");
      await fsckOk(repo);
      // and a second prune completes the job
      await prune(repo, { refsOnly: true, depth: 0 });
      expect(commitsIn(repo)).toEqual([commits[3]]);
      await fsckOk(repo);
    });
  }
});
