/**
 * `fsck`: prove that every commit's objects are present and hash to their names.
 *
 * The order and the wording follow `ostree fsck` (2022.7), so a script reading one reads the other:
 *  1. "Validating refs..." — each ref (local and remote) names a stored, valid commit;
 *     "Validating refs in collections..." — the same for collection refs (mirrors, and local refs
 *     when the repo has a collection ID).
 *  2. "Enumerating commits..." — every commit object in the repository; commits marked partial
 *     (`state/C.commitpartial`) are counted ("N partial commits not verified"), not verified.
 *  3. "Verifying content integrity of N commit objects..." — every object reachable from those
 *     commits (their own trees, not their parents'), each verified once however many commits
 *     share it; content objects of a large store on worker threads (fsck-workers.ts).
 * A missing object is reported ("Object missing in commits A, B: CS.TYPE") and the commits that
 * need it are marked partial with reason `f`, so pull knows to fetch again; a corrupt one stops
 * the run unless `all` (report and go on) or `delete` (report, delete, and treat as missing).
 * Objects shared by history and a partial commit are still checked through the complete ones.
 *
 * Deliberate differences from ostree 2022.7: a missing dirtree of a complete commit is reported
 * as missing (ostree aborts the run); a corrupt commit or dirtree is reported, not walked (its
 * garbage would name "missing" objects); `addTombstones` writes tombstones for the *missing
 * parents* (ostree deletes the child commit and tombstones it, breaking the ref that points at
 * it); an archive header whose size field lies about intact data is reported (ostree ignores it).
 *
 * Locking: shared (prune, which deletes, cannot run meanwhile); exclusive with `delete` or
 * `addTombstones`, which change the store themselves.
 */
import { readFileSync } from "node:fs";
import type { Worker } from "node:worker_threads";
import { type Commit, decodeCommit } from "../core/metadata.js";
import type { ObjectType } from "../core/object-type.js";
import { type ArborError, isArborError } from "../errors.js";
import { acquireLock, type LockHandle } from "../io/lock.js";
import { Pool } from "../io/pool.js";
import { enableTombstoneCommits, writeTombstone } from "./delete-object.js";
import { verifyBackRefs } from "./fsck-bindings.js";
import { FsckRun } from "./fsck-run.js";
import {
  defaultWorkerCount,
  PARALLEL_MIN_OBJECTS,
  startVerifiers,
  stopVerifiers,
  verifyContentParallel,
} from "./fsck-workers.js";
import { listRefs } from "./refs.js";
import type { Repo } from "./repo.js";
import { listLooseObjects, ObjectWalker, objectKey } from "./traverse.js";

/** The stages of a run, in order (ostree prints one line as each starts). */
export type FsckPhase = "refs" | "collection-refs" | "enumerate" | "verify";

/** Progress of {@link fsckRepo}. */
export interface FsckProgress {
  phase: FsckPhase;
  /** verify: commits being verified. */
  commits?: number;
  /** verify: objects checked so far, and in all. */
  done?: number;
  total?: number;
}

/** One problem found. */
export interface FsckIssue {
  /** `CHECKSUM.TYPE` (content objects are `.file` in every repo mode, as ostree prints them). */
  object: string;
  checksum: string;
  type: ObjectType;
  kind: "missing" | "corrupt" | "binding";
  /** What is wrong, without the object name prefix. */
  reason: string;
  /** The line ostree prints for it. */
  message: string;
  /** Commits that contain the object (empty for objects found through a ref). */
  commits: string[];
  /** The object was removed (`delete`). */
  deleted: boolean;
}

/** Something to tell the user while running (ostree prints these as they happen). */
export interface FsckWarning {
  kind: "missing" | "corrupt" | "marked-partial" | "tombstone";
  /** The line ostree prints (stderr, except "tombstone" which goes to stdout). */
  message: string;
  issue?: FsckIssue;
  commit?: string;
}

/** Options of {@link fsckRepo}. */
export interface FsckOptions {
  /** Report every corrupt object and go on, instead of stopping at the first (`-a/--all`). */
  all?: boolean;
  /** Delete corrupt objects and mark the commits that need them partial (`--delete`). */
  delete?: boolean;
  /** Don't emit phase progress (`-q`); problems are still reported. */
  quiet?: boolean;
  /** Write tombstones for parent commits that are missing (`--add-tombstones`). */
  addTombstones?: boolean;
  /** Check that each ref's commit is bound to that ref (`ostree.ref-binding`). */
  verifyBindings?: boolean;
  /** Check that each commit's bound refs point back to it (ostree's "implies --verify-bindings" takes effect only after the ref stage, so it does not check refs). */
  verifyBackRefs?: boolean;
  /** Objects verified at once in this thread (default 4). */
  concurrency?: number;
  /**
   * Worker threads for content verification of large repositories (default: one per core, up
   * to 4, when there are 2+ cores; 0 verifies in this thread).
   */
  workers?: number;
  /** How long to wait for the repo lock (default `core.lock-timeout-secs`, else 30 s). */
  lockTimeoutMs?: number;
  onProgress?: (p: FsckProgress) => void;
  onWarning?: (w: FsckWarning) => void;
  signal?: AbortSignal;
}

/** What {@link fsckRepo} found (the `--json` document). */
export interface FsckResult {
  apiVersion: "arbor/v1";
  kind: "FsckResult";
  /** No problem found and no commit is partial because of an earlier fsck. */
  ok: boolean;
  /** Complete (non-partial) commits verified. */
  commits: number;
  objectsChecked: number;
  errors: FsckIssue[];
  /** Every commit marked partial when the run ended. */
  partialCommits: string[];
  /** Commits this run marked partial. */
  markedPartial: string[];
  /** Objects this run deleted (`delete`). */
  deleted: string[];
  /** Commits this run wrote tombstones for (`addTombstones`). */
  tombstones: string[];
  /** Partial commits skipped (ostree: "N partial commits not verified"). */
  partialNotVerified: number;
  /** Worker threads that verified content (0: all in this thread). */
  workers: number;
  /** ostree's closing error when not ok: "Repository corruption encountered" or "N partial commits from fsck-detected corruption". */
  error?: string;
}

function partialReason(repo: Repo, cs: string): "fsck" | "other" {
  try {
    return readFileSync(repo.commitPartialPath(cs)).subarray(0, 1).toString() === "f" ? "fsck" : "other";
  } catch {
    return "other";
  }
}

async function lockRepo(repo: Repo, o: FsckOptions): Promise<LockHandle | null> {
  if (!repo.config.getBool("core", "locking", true)) return null;
  const secs = Number(repo.config.get("core", "lock-timeout-secs") ?? "30");
  return acquireLock(repo.lockPath, o.delete || o.addTombstones ? "exclusive" : "shared", {
    timeoutMs: o.lockTimeoutMs ?? (Number.isFinite(secs) ? secs * 1000 : 30_000),
    signal: o.signal,
  });
}

/**
 * Check the repository, as `ostree fsck`. Problems are returned (and streamed to `onWarning`);
 * the call itself fails only where ostree stops: the first corrupt object without `all` or
 * `delete`, a ref whose commit is missing (without `all`), a binding mismatch (without `all`).
 * @example
 * const r = await fsckRepo(repo, { all: true, onWarning: (w) => console.error(w.message) });
 * if (!r.ok) console.error(`error: ${r.error}`);
 * @throws ArborError OBJECT_CORRUPT / OBJECT_NOT_FOUND / BAD_REF (stopping problems, worded as
 *   ostree), LOCKED, ABORTED, IO.
 */
export async function fsckRepo(repo: Repo, opts: FsckOptions = {}): Promise<FsckResult> {
  const lock = await lockRepo(repo, opts);
  try {
    return await runFsck(repo, opts);
  } finally {
    lock?.release();
  }
}

async function runFsck(repo: Repo, opts: FsckOptions): Promise<FsckResult> {
  const run = new FsckRun(repo, opts);
  run.phase({ phase: "refs" });
  for (const ref of listRefs(repo, { kind: "all" })) await run.checkRef(ref.checksum, ref.ref, null);
  run.phase({ phase: "collection-refs" });
  const cid = repo.collectionId;
  if (cid)
    for (const ref of listRefs(repo, { kind: "heads" })) await run.checkRef(ref.checksum, ref.ref, cid);
  for (const ref of listRefs(repo, { kind: "mirrors" }))
    await run.checkRef(ref.checksum, ref.ref, ref.remote);

  run.phase({ phase: "enumerate" });
  const stored = listLooseObjects(repo);
  // Start verification workers now if the store is big enough: they load while we walk the trees.
  const nWorkers = opts.workers ?? defaultWorkerCount();
  const estimate = stored.reduce((n, k) => (k.endsWith(".file") ? n + 1 : n), 0);
  const verifiers =
    nWorkers > 0 && estimate >= PARALLEL_MIN_OBJECTS ? startVerifiers(repo.path, nWorkers) : null;
  try {
    return await verifyStage(run, stored, verifiers);
  } finally {
    if (verifiers) stopVerifiers(await verifiers);
  }
}

async function verifyStage(
  run: FsckRun,
  stored: string[],
  verifiers: Promise<Worker[]> | null,
): Promise<FsckResult> {
  const { repo, o: opts, result: r } = run;
  const complete: string[] = [];
  const invalid: string[] = []; // complete commits whose own object is bad: reported, not walked
  const missingParents = new Set<string>();
  let nPartial = 0;
  let nFsckPartial = 0;
  for (const key of stored) {
    if (!key.endsWith(".commit")) continue;
    const cs = key.slice(0, 64);
    const partial = repo.isCommitPartial(cs);
    if (!partial && (await run.check(key))) {
      invalid.push(cs);
      continue;
    }
    let commit: Commit | null = null;
    try {
      commit = decodeCommit(repo.readMetadata("commit", cs), `commit ${cs}`);
    } catch (e) {
      if (!isArborError(e, "OBJECT_CORRUPT") && !isArborError(e, "OBJECT_NOT_FOUND")) throw e;
    }
    if (commit && opts.verifyBackRefs) {
      const why = verifyBackRefs(repo, cs, commit);
      if (why) run.bindingProblem(cs, why);
    }
    if (commit?.parent && opts.addTombstones && !repo.hasObject("commit", commit.parent))
      missingParents.add(commit.parent);
    if (partial) {
      nPartial++;
      if (partialReason(repo, cs) === "fsck") nFsckPartial++;
    } else complete.push(cs);
  }

  r.commits = complete.length + invalid.length;
  run.phase({ phase: "verify", commits: r.commits });
  const walker = new ObjectWalker(repo, { recordParents: true, verifyHashes: true, onUnreadable: () => {} });
  for (const cs of complete) walker.addCommit(cs, 0);
  const keys = [...walker.reachable, ...invalid.map((cs) => objectKey(cs, "commit"))];
  const total = keys.length;
  let done = 0;
  const settle = (key: string, problem: ArborError | null): void => {
    if (problem) run.handle(key, problem, walker.commitsOf(key));
    done++;
    run.phase({ phase: "verify", done, total });
  };
  // Metadata (small, and cached from earlier stages) in-process; content on worker threads when
  // there is enough of it to pay for starting them, else in-process too.
  const content = keys.filter((k) => k.endsWith(".file") && !run.isChecked(k));
  const inProcess = keys.filter((k) => !k.endsWith(".file") || run.isChecked(k));
  let parallel = false;
  if (verifiers && content.length >= PARALLEL_MIN_OBJECTS) {
    const pool = await verifiers;
    r.workers = pool.length;
    parallel = await verifyContentParallel(
      pool,
      content.map((k) => k.slice(0, 64)),
      {
        signal: opts.signal,
        onResult: (cs, problem) => {
          const key = objectKey(cs, "file");
          run.record(key, problem);
          settle(key, problem);
        },
      },
    );
  }
  const pool = new Pool(Math.max(1, opts.concurrency ?? 4), opts.signal);
  for (const key of parallel ? inProcess : keys) {
    await pool.run(async () => settle(key, await run.check(key)));
  }
  await pool.drain();

  if (opts.addTombstones && missingParents.size) {
    enableTombstoneCommits(repo);
    for (const p of missingParents) {
      writeTombstone(repo, p);
      r.tombstones.push(p);
      run.warn({ kind: "tombstone", message: `Adding tombstone for commit ${p}`, commit: p });
    }
  }

  r.partialNotVerified = nPartial;
  r.partialCommits = repo.listPartialCommits().sort();
  if (run.foundCorruption) r.error = "Repository corruption encountered";
  // ostree counts every partial commit here (not only fsck's), and so do we, for the same line
  else if (nFsckPartial > 0) r.error = `${nPartial} partial commits from fsck-detected corruption`;
  r.ok = r.error === undefined;
  return r;
}
