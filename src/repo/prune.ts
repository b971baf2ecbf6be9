/**
 * `prune`: delete the objects nothing needs, as `ostree prune`.
 *
 * What is kept (the root set):
 *  - default: everything reachable from *any* commit object, with `depth` generations of
 *    parents — so only orphans (objects of an interrupted commit, trees of deleted commits) go;
 *  - `refsOnly`: everything reachable from the refs (local, remote, collection mirrors; in a
 *    sysroot repo that includes the deployment refs `ostree/B/S/N`), to `depth`;
 *  - `keepYoungerThan` / `onlyBranch` / `retainBranchDepth`: per-ref rules (implies refsOnly):
 *    a ref named in `retainBranchDepth` keeps that many parents, refs outside `onlyBranch` keep
 *    their whole history, the rest keep commits not older than `keepYoungerThan` (the ref's own
 *    commit always), else `depth`.
 * Everything listed under `objects/` that is not kept is deleted; a deleted commit takes its
 * `.commitmeta` and partial marker with it and leaves a tombstone when
 * `core.tombstone-commits` is true. Static deltas whose target commit is gone are removed too, and
 * so are the cached summaries of remotes that no longer exist (`tmp/cache/summaries/`).
 *
 * Crash safety: an unreachable object is never needed by a kept one, so the order of deletion
 * cannot hurt kept data. It can hurt *fsck*, which checks every commit object it finds: a commit
 * left behind while its tree is half deleted would read as corruption. So unreachable commits
 * are deleted first and their directories fsynced; only then does the rest go. A kill at any
 * point leaves a repository that passes fsck (at worst with orphans the next prune removes).
 *
 * Locking: exclusive for the whole run, so no transaction can be about to reference an object we
 * judge unreachable (transactions hold the lock shared).
 */
import { lstatSync, readlinkSync } from "node:fs";
import { dirname } from "node:path";
import { isChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { faultPoint, fsyncPathSync } from "../io/fs.js";
import { acquireLock, type LockHandle } from "../io/lock.js";
import { deleteObject, enableTombstoneCommits, unmarkCommitPartial } from "./delete-object.js";
import { pruneStaticDeltas } from "./prune-deltas.js";
import { listRefs, resolveRev } from "./refs.js";
import { listRemotes } from "./remotes.js";
import type { Repo } from "./repo.js";
import { cleanStaleStaging } from "./staging.js";
import { pruneSummaryCache } from "./summary-cache.js";
import { allRefCommits, listLooseObjects, ObjectWalker, parseObjectKey } from "./traverse.js";

/** Options of {@link pruneRepo} (the `ostree prune` flags). */
export interface PruneOptions {
  /** Keep only what the refs reach (`--refs-only`). */
  refsOnly?: boolean;
  /** Parent generations kept from each root: -1 (default) all (`--depth`). */
  depth?: number;
  /** Dry run: count, delete nothing (`--no-prune`). */
  noPrune?: boolean;
  /** Delete this commit first (checksum or unique prefix); refused if a ref points at it (`--delete-commit`). */
  deleteCommit?: string;
  /** Seconds since the epoch: per ref, keep the commits at least this new (`--keep-younger-than`). */
  keepYoungerThan?: number;
  /** Prune only these refs; all others keep their whole history (`--only-branch`). */
  onlyBranch?: string[];
  /** Per-ref depth overrides, `[ref, depth]` (`--retain-branch-depth=REF=DEPTH`). */
  retainBranchDepth?: Array<[string, number]>;
  /** Only consider commit objects (`--commit-only`). */
  commitOnly?: boolean;
  /** With `deleteCommit`: delete only the static deltas targeting it (`--static-deltas-only`). */
  staticDeltasOnly?: boolean;
  /** More commits to keep, as if a ref pointed at them. */
  extraCommits?: string[];
  /** How long to wait for the exclusive repo lock (default `core.lock-timeout-secs`, else 30 s). */
  lockTimeoutMs?: number;
  onWait?: (message: string) => void;
  signal?: AbortSignal;
}

/** What {@link pruneRepo} did (the `--json` document). */
export interface PruneResult {
  apiVersion: "arbor/v1";
  kind: "PruneResult";
  /** Objects considered (all loose objects, or all commits with `commitOnly`). */
  objectsTotal: number;
  /** Objects deleted (or that would be, with `noPrune`). */
  objectsPruned: number;
  /** Their storage size in bytes. */
  bytesFreed: number;
  dryRun: boolean;
  commitOnly: boolean;
  /** Commits among the pruned objects. */
  commitsPruned: string[];
  /** The commit `deleteCommit` removed, if any. */
  deletedCommit?: string;
  /** Static deltas removed (hex names). */
  deltasPruned: string[];
  /** Stale staging directories removed from `tmp/`. */
  stagingRemoved: number;
  /** Cached summaries (`tmp/cache/summaries/R`, `R.sig`) of remotes that no longer exist, removed. */
  summaryCachesRemoved: string[];
}

const U64_MAX = 18446744073709551615n;

async function lockRepo(repo: Repo, o: PruneOptions): Promise<LockHandle | null> {
  if (!repo.config.getBool("core", "locking", true)) return null;
  const secs = Number(repo.config.get("core", "lock-timeout-secs") ?? "30");
  return acquireLock(repo.lockPath, "exclusive", {
    timeoutMs: o.lockTimeoutMs ?? (Number.isFinite(secs) ? secs * 1000 : 30_000),
    onWait: o.onWait,
    signal: o.signal,
  });
}

/** Refuse to delete a commit a ref points at, then delete it (with a tombstone, as ostree). */
function deleteCommitChecked(repo: Repo, rev: string): string {
  const cs = isChecksum(rev) ? rev : resolveRev(repo, rev)!;
  for (const r of listRefs(repo, { kind: "all" }))
    if (r.checksum === cs) throw new ArborError("CONFLICT", `Commit '${cs}' is referenced by '${r.name}'`);
  for (const r of listRefs(repo, { kind: "mirrors" }))
    if (r.checksum === cs)
      throw new ArborError("CONFLICT", `Commit '${cs}' is referenced by (${r.remote}, ${r.ref})`);
  const cid = repo.collectionId;
  if (cid)
    for (const r of listRefs(repo, { kind: "heads" }))
      if (r.checksum === cs)
        throw new ArborError("CONFLICT", `Commit '${cs}' is referenced by (${cid}, ${r.ref})`);
  enableTombstoneCommits(repo);
  deleteObject(repo, "commit", cs);
  unmarkCommitPartial(repo, cs);
  return cs;
}

/** Keep the ref's commit, then its ancestors while they are at least `since` seconds new. */
function keepYoungerThan(w: ObjectWalker, repo: Repo, head: string, since: number): void {
  w.addCommit(head, 0);
  for (let cs: string | null = head; cs !== null; ) {
    const bytes = repo.readMetadataMaybe("commit", cs);
    if (!bytes) return;
    const c = repo.loadCommit(cs);
    if (c.timestamp < since) return;
    w.addCommit(cs, 0);
    cs = c.parent;
  }
}

/** The root set for the per-ref rules (ostree's "newer, more complex options" path). */
function rootsPerRef(repo: Repo, w: ObjectWalker, o: PruneOptions): void {
  const depthOf = new Map<string, number>(o.retainBranchDepth ?? []);
  const refs = allRefCommits(repo);
  if (o.onlyBranch?.length) {
    const only = new Set<string>();
    for (const b of o.onlyBranch) {
      resolveRev(repo, b); // must exist (NOT_FOUND otherwise), as ostree checks
      only.add(b);
    }
    for (const name of refs.keys()) if (!only.has(name) && !depthOf.has(name)) depthOf.set(name, -1);
  }
  for (const [name, cs] of refs) {
    const d = depthOf.get(name);
    if (d === undefined && o.keepYoungerThan !== undefined) keepYoungerThan(w, repo, cs, o.keepYoungerThan);
    else w.addCommit(cs, d ?? o.depth ?? -1);
  }
}

function storageSize(path: string): number {
  try {
    return lstatSync(path).size;
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return 0;
    throw fromSystemError(`Cannot stat "${path}"`, e);
  }
}

/** ostree keeps a payload link while its target is kept and at least `core.payload-link-threshold` big. */
function keepPayloadLink(repo: Repo, checksum: string, reachable: Set<string>): boolean {
  const raw = repo.config.get("core", "payload-link-threshold");
  let threshold = U64_MAX;
  if (raw !== undefined && /^\d+$/.test(raw.trim())) threshold = BigInt(raw.trim());
  let target: string;
  try {
    target = readlinkSync(repo.objectPath(checksum, "payload-link"));
  } catch {
    return false;
  }
  const m = /^\.\.\/([0-9a-f]{2})\/([0-9a-f]{62})\./.exec(target);
  if (!m) return false;
  const cs = m[1]! + m[2]!;
  if (!reachable.has(`${cs}.file`)) return false;
  return BigInt(storageSize(repo.objectPath(cs, "file"))) >= threshold;
}

/**
 * Delete unreachable objects, as `ostree prune`.
 * @example
 * const r = await pruneRepo(repo, { refsOnly: true, depth: 0 });
 * console.log(`Deleted ${r.objectsPruned} objects`);
 * @throws ArborError USAGE (conflicting options), CONFLICT (`deleteCommit` of a ref'd commit),
 *   NOT_FOUND (`onlyBranch`/`deleteCommit` that does not exist), OBJECT_NOT_FOUND /
 *   OBJECT_CORRUPT (a complete commit whose tree cannot be read: nothing is deleted then),
 *   LOCKED, IO.
 */
export async function pruneRepo(repo: Repo, o: PruneOptions = {}): Promise<PruneResult> {
  if (o.deleteCommit !== undefined && o.noPrune)
    throw new ArborError("USAGE", "Cannot specify both --delete-commit and --no-prune");
  if (o.staticDeltasOnly && o.deleteCommit === undefined)
    throw new ArborError(
      "USAGE",
      "--static-deltas-only requires --delete-commit; see https://github.com/ostreedev/ostree/issues/1479",
    );
  const lock = await lockRepo(repo, o);
  try {
    const r = runPrune(repo, o);
    if (!r.dryRun) r.stagingRemoved = await cleanStaleStaging(repo);
    return r;
  } finally {
    lock?.release();
  }
}

function runPrune(repo: Repo, o: PruneOptions): PruneResult {
  const dryRun = !!o.noPrune;
  const commitOnly = !!o.commitOnly;
  const r: PruneResult = {
    apiVersion: "arbor/v1",
    kind: "PruneResult",
    objectsTotal: 0,
    objectsPruned: 0,
    bytesFreed: 0,
    dryRun,
    commitOnly,
    commitsPruned: [],
    deltasPruned: [],
    stagingRemoved: 0,
    summaryCachesRemoved: [],
  };
  if (o.deleteCommit !== undefined) {
    if (o.staticDeltasOnly) {
      const cs = isChecksum(o.deleteCommit) ? o.deleteCommit : resolveRev(repo, o.deleteCommit)!;
      r.deltasPruned.push(...pruneStaticDeltas(repo, cs));
    } else r.deletedCommit = deleteCommitChecked(repo, o.deleteCommit);
  }

  const w = new ObjectWalker(repo, { commitOnly });
  const depth = o.depth ?? -1;
  const perRef = o.keepYoungerThan !== undefined || !!o.onlyBranch?.length || !!o.retainBranchDepth?.length;
  const objects = listLooseObjects(repo, commitOnly ? "commit" : undefined);
  if (perRef) rootsPerRef(repo, w, o);
  else if (o.refsOnly) for (const cs of allRefCommits(repo).values()) w.addCommit(cs, depth);
  else for (const k of objects) if (k.endsWith(".commit")) w.addCommit(k.slice(0, 64), depth);
  for (const cs of o.extraCommits ?? []) w.addCommit(cs, depth);

  const doomed: string[] = [];
  for (const key of objects) {
    const { checksum, type } = parseObjectKey(key);
    if (w.reachable.has(key)) continue;
    if (type === "payload-link" && keepPayloadLink(repo, checksum, w.reachable)) continue;
    doomed.push(key);
    r.bytesFreed += storageSize(repo.objectPath(checksum, type));
  }
  r.objectsTotal = objects.length;
  r.objectsPruned = doomed.length;
  r.commitsPruned = doomed.filter((k) => k.endsWith(".commit")).map((k) => k.slice(0, 64));
  if (dryRun) return r;

  // Commits first, made durable, then what only they referenced (see the file comment).
  const commitDirs = new Set<string>();
  for (const cs of r.commitsPruned) {
    faultPoint("prune.delete-commit");
    deleteObject(repo, "commit", cs, { allowMissing: true });
    unmarkCommitPartial(repo, cs);
    commitDirs.add(dirname(repo.objectPath(cs, "commit")));
  }
  if (repo.config.getBool("core", "fsync", true)) for (const d of commitDirs) fsyncPathSync(d);
  for (const key of doomed) {
    const { checksum, type } = parseObjectKey(key);
    if (type === "commit") continue;
    faultPoint("prune.delete-object");
    deleteObject(repo, type, checksum, { allowMissing: true });
  }
  r.deltasPruned.push(...pruneStaticDeltas(repo, null));
  // as ostree's prune: the summary caches of remotes that are gone (this repo's own remotes only)
  r.summaryCachesRemoved = pruneSummaryCache(repo, listRemotes(repo, { inherit: false }));
  return r;
}
