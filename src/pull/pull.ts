/**
 * `pull REMOTE [REF…]`: bring commits from a remote archive repository served over HTTP(S) (or a
 * `file://` repo: archive through the fetcher, other modes imported as pull-local does,
 * local-import.ts) into this repository, every byte verified (fact sheet §5) — but for
 * content objects under `--mirror --http-trusted` into an archive repository (trusted-content.ts).
 *
 * Order, and why:
 *  1. `summary.sig`, then `summary` (remote-summary.ts): refs → commits, verified if required;
 *     skipped when every request names its commit and deltas do not need it (summary-need.ts).
 *  2. Per commit: `.commitmeta` before `.commit`; the commit's signatures (gpg-verify,
 *     sign-verify), ref binding and timestamp are checked *before* its tree is walked, so a
 *     refused commit costs one small download and leaves nothing behind.
 *  3. `state/C.commitpartial` is created (durably) before the commit object can become visible,
 *     and removed only after the whole tree is durable: a pull killed at any point leaves a
 *     repository fsck accepts, and the re-run fetches only what is missing (object-puller.ts).
 *  4. Refs move last, after every object is durable.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Commit, decodeCommit, type VarDict } from "../core/metadata.js";
import { ArborError, isArborError, withContext } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { fsyncPathSync } from "../io/fs.js";
import { readRef, resolveRev, writeCollectionRef, writeRefFile } from "../repo/refs.js";
import { getRemote, type Remote } from "../repo/remotes.js";
import { Repo } from "../repo/repo.js";
import { maybeAutoUpdateSummary, type Summary } from "../repo/summary.js";
import { type VerifyPolicy, verifyCommitForRemote, verifyPolicyFor } from "../sign/remote-verify.js";
import { checkTimestamps, verifyBindings } from "./commit-checks.js";
import { applyPullDeltas, type DeltaPullSummary, planPullDeltas } from "./delta-pull.js";
import type { Fetcher, RetryPolicy } from "./fetcher.js";
import { importCommits, localImportSource } from "./local-import.js";
import { ObjectPuller } from "./object-puller.js";
import { fetchCommitMeta, fetchMetadata } from "./objects.js";
import { newStats, type PullStats } from "./progress.js";
import { openRemoteFetcher } from "./remote-fetcher.js";
import { fetchRemoteSummary, type RemoteSummary } from "./remote-summary.js";
import { summaryNeed } from "./summary-need.js";
import { type CollectionRefTarget, readDestination, refDestination, resolvePullTargets } from "./targets.js";
import { trustedHttpDirect } from "./trusted-content.js";

export interface PullOptions {
  /** Remote name (its config gives the URL, keys and TLS settings). */
  remote: string;
  /** Refs, commit checksums, or `REF@CHECKSUM`; default: the remote's `branches`, or (mirror) all. */
  refs?: string[];
  /** Collection–refs pinned to commits, instead of `refs` (`find-remotes --pull`). */
  collectionRefs?: CollectionRefTarget[];
  /** Override the remote's URL (`--url`). */
  url?: string;
  /** Parent commits to fetch too: 0 none (default), -1 all. */
  depth?: number;
  commitMetadataOnly?: boolean;
  /**
   * Write refs as the remote names them (`--mirror`): a ref whose collection is known (the
   * summary's collection ID, or a requested collection–ref) under refs/mirrors/COLLECTION/
   * (refs/heads for the repository's own collection), others under refs/heads; and copy the
   * summary when mirroring everything.
   */
  mirror?: boolean;
  /** Only these subtrees (`--subpath`, repeatable); the commit stays partial. */
  subpaths?: string[];
  /** Repositories to take objects from before the network (`--localcache-repo`). */
  localcacheRepos?: string[];
  /** Refuse a commit older than the ref's current one (`--timestamp-check`). */
  timestampCheck?: boolean;
  /** Compare against this revision instead (`--timestamp-check-from-rev`). */
  timestampCheckFromRev?: string;
  /** Cache the remote's summary under DIR/summaries instead of the repo's (`--cache-dir`). */
  cacheDir?: string;
  /** Resolve and verify, write nothing (`--dry-run`). */
  dryRun?: boolean;
  requireStaticDeltas?: boolean;
  /** Never use static deltas (`--disable-static-deltas`). */
  disableStaticDeltas?: boolean;
  /** Refuse regular files with mode bits outside 0775 (`--bareuseronly-files`). */
  bareUserOnlyFiles?: boolean;
  /**
   * `--http-trusted`: with `mirror`, into an archive repository, over HTTP(S), without
   * `bareUserOnlyFiles`, content objects are stored as fetched, unverified (as ostree); otherwise
   * no effect (trusted-content.ts).
   */
  httpTrusted?: boolean;
  /** Skip fsync/syncfs (`--disable-fsync`): faster, not crash-safe. */
  disableFsync?: boolean;
  /** Re-hash objects imported from a non-archive `file://` repository (local-import.ts). */
  untrusted?: boolean;
  httpHeaders?: Array<[string, string]>;
  /** Appended to the `User-Agent` (`--append-user-agent`). */
  appendUserAgent?: string;
  /** `--network-retries` (default 5). */
  networkRetries?: number;
  disableVerifyBindings?: boolean;
  /** Override the remote's gpg-verify / gpg-verify-summary. */
  gpgVerify?: boolean;
  gpgVerifySummary?: boolean;
  /** `false`: ignore the remote's sign-verify / sign-verify-summary (`find-remotes --pull`). */
  signVerify?: boolean;
  signVerifySummary?: boolean;
  /** Fetches in flight (default PULL_CONCURRENCY, fetcher.ts). */
  concurrency?: number;
  /** HTTP timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Where interrupted object downloads are kept for resuming (default: the repo's tmp/). */
  partialDir?: string;
  /** Inject a fetcher (tests). */
  fetcher?: Fetcher;
  /** Retry backoff (tests). */
  retry?: Partial<RetryPolicy>;
  /** Publish staged objects at least this often (ms). */
  batchMs?: number;
  env?: Readonly<Record<string, string | undefined>>;
  onProgress?: (s: PullStats) => void;
  signal?: AbortSignal;
}

/** One ref (or commit) a pull resolved. */
export interface PulledRef {
  /** null when a bare commit checksum was requested. */
  ref: string | null;
  /** Mirror pulls: the collection the ref was written under (see {@link PullOptions.mirror}). */
  collectionId?: string;
  commit: string;
  /** The commit the ref pointed to before (null if none). */
  previous: string | null;
}

export interface PullResult {
  remote: string;
  refs: PulledRef[];
  stats: PullStats;
  dryRun: boolean;
  /** Objects were imported from a local repository (non-archive `file://`), not fetched. */
  local?: boolean;
  /** The static deltas used (or, with dryRun, that would be). */
  deltas?: DeltaPullSummary;
}

/** A commit fetched and proven, not yet stored. */
interface ProvenCommit {
  checksum: string;
  bytes: Uint8Array;
  commit: Commit;
  meta: { bytes: Uint8Array; meta: VarDict } | null;
  local: boolean;
}

class PullRun {
  readonly stats: PullStats = newStats();
  private readonly partial: string[] = [];
  private readonly done = new Set<string>();
  puller: ObjectPuller | null = null;

  constructor(
    readonly repo: Repo,
    readonly o: PullOptions,
    readonly fetcher: Fetcher,
    readonly policy: VerifyPolicy | null,
    readonly summary: Summary | null,
    readonly collectionId: string | undefined,
  ) {}

  /** Fetch (or load) a commit and its detached metadata, and verify it as the remote requires. */
  async prove(checksum: string, ref: string | null, optional: boolean): Promise<ProvenCommit | null> {
    const meta = await fetchCommitMeta(this.fetcher, checksum, this.o.signal);
    // ostree counts the detached-metadata request even when the server has none (404)
    this.stats.fetchedMetadata++;
    let bytes = this.repo.readMetadataMaybe("commit", checksum);
    const local = bytes !== null;
    if (!bytes) {
      try {
        bytes = await fetchMetadata(this.fetcher, "commit", checksum, this.o.signal);
      } catch (e) {
        if (optional && isArborError(e, "NOT_FOUND")) return null;
        throw e;
      }
      this.stats.fetchedMetadata++;
    }
    const commit = decodeCommit(bytes, `commit ${checksum}`);
    if (this.policy)
      await verifyCommitForRemote(this.repo, this.policy, checksum, bytes, meta?.meta ?? null, {
        env: this.o.env,
      });
    if (!this.o.disableVerifyBindings) verifyBindings(checksum, commit, ref, this.collectionId);
    return { checksum, bytes, commit, meta, local };
  }

  /** Stage a proven commit; walk its tree (and parents, per depth) unless already complete. */
  async store(p: ProvenCommit, depth: number): Promise<void> {
    if (this.done.has(p.checksum)) return;
    this.done.add(p.checksum);
    const tx = this.puller!.transaction;
    if (p.meta) {
      const old = this.repo.readMetadataMaybe("commitmeta", p.checksum);
      if (!old || Buffer.compare(old, p.meta.bytes) !== 0)
        tx.writeMetadataNamed("commitmeta", p.checksum, p.meta.bytes, true);
    }
    const complete = p.local && !this.repo.isCommitPartial(p.checksum);
    if (!complete) {
      // The marker first: the commit object must never be visible without it. A commit fetched
      // now is published by the transaction, which makes the marker durable first (one syncfs
      // for everything, as ostree, which does not sync the marker at all); a commit already here
      // had its marker (the pull that fetched it wrote it), so this only rewrites it.
      const marker = this.repo.commitPartialPath(p.checksum);
      writeFileAtomicSync(marker, "", { mode: 0o644, fsync: p.local });
      if (!p.local) tx.syncBeforePublish(marker);
      if (!this.o.commitMetadataOnly && !this.o.subpaths?.length) this.partial.push(p.checksum);
    }
    if (!p.local) tx.writeMetadata("commit", p.bytes, p.checksum);
    if (!complete && !this.o.commitMetadataOnly) this.puller!.addCommitTree(p.commit);
    if (depth !== 0 && p.commit.parent) {
      const parent = await this.prove(p.commit.parent, null, true);
      if (parent) await this.store(parent, depth > 0 ? depth - 1 : depth);
    }
  }

  /** Prove `p`'s ancestors up to `depth` (as {@link store} would), collecting every commit. */
  async lineage(p: ProvenCommit, depth: number, out: string[]): Promise<void> {
    if (this.done.has(p.checksum)) return;
    this.done.add(p.checksum);
    out.push(p.checksum);
    if (depth === 0 || !p.commit.parent) return;
    const parent = await this.prove(p.commit.parent, null, true);
    if (parent) await this.lineage(parent, depth > 0 ? depth - 1 : depth, out);
  }

  /** Drop the partial markers of commits whose trees are now durable. */
  clearPartial(): void {
    for (const c of this.partial) rmSync(this.repo.commitPartialPath(c), { force: true });
    if (this.partial.length) fsyncPathSync(join(this.repo.path, "state"));
  }
}

/**
 * The collection ID a pulled commit must be bound to: a `file://` source repository's own (as
 * ostree, which reads the local repo), else the remote's `collection-id`.
 */
function bindingCollectionId(remote: Remote, url: string | undefined): string | undefined {
  const u = url ?? remote.url;
  if (u?.startsWith("file://")) {
    try {
      return Repo.open(fileURLToPath(u)).collectionId || undefined;
    } catch {
      // not a repository we can open: the fetch will say so
    }
  }
  return remote.get("collection-id");
}

/**
 * Refuse remotes that say they cannot be pulled from, in ostree's words: `unconfigured-state`
 * (its text is the reason, e.g. a subscription is needed) and `custom-backend` (content is not
 * fetched by libostree, e.g. containers).
 * @throws ArborError BAD_CONFIG, UNSUPPORTED
 */
function checkRemoteUsable(remote: Remote): void {
  const unconfigured = remote.get("unconfigured-state");
  if (unconfigured !== undefined)
    throw new ArborError("BAD_CONFIG", `remote unconfigured-state: ${unconfigured}`);
  const backend = remote.get("custom-backend");
  if (backend !== undefined) {
    throw new ArborError(
      "UNSUPPORTED",
      `Cannot fetch via libostree - remote '${remote.name}' uses custom backend '${backend}'`,
    );
  }
}

function timestampBase(repo: Repo, o: PullOptions, ref: string): string | null {
  if (o.timestampCheckFromRev) return resolveRev(repo, o.timestampCheckFromRev, { allowNoent: false });
  return o.mirror ? readRef(repo, ref) : readRef(repo, ref, o.remote);
}

/** Fetch the proven commits' objects (static deltas first) through the fetcher. */
async function fetchObjects(
  run: PullRun,
  fetcher: Fetcher,
  deltas: Awaited<ReturnType<typeof planPullDeltas>>,
  proven: Array<{ p: ProvenCommit }>,
  caches: Repo[],
): Promise<void> {
  const { repo, o } = run;
  run.puller = await ObjectPuller.start({
    repo,
    fetcher,
    stats: run.stats,
    localCaches: caches,
    subpaths: o.subpaths?.map((s) => `/${s.replace(/^\/+|\/+$/g, "")}`.replace(/^\/$/, "/")),
    concurrency: o.concurrency,
    bareUserOnlyFiles: o.bareUserOnlyFiles,
    trustedContent: trustedHttpDirect({ ...o, archive: repo.archive, local: fetcher.local }),
    batchMs: o.batchMs,
    onProgress: o.onProgress,
    signal: o.signal,
  });
  try {
    await applyPullDeltas(deltas, run.puller, fetcher, o.signal); // static deltas
    for (const { p } of proven) await run.store(p, o.depth ?? 0);
    await run.puller.drain();
    await run.puller.finish();
  } catch (e) {
    await run.puller.abort();
    throw e;
  }
  run.clearPartial();
}

/**
 * Pull. See the file comment for the order of operations.
 * @throws ArborError NOT_FOUND (remote, ref, object), SIGNATURE_MISSING / SIGNATURE_INVALID,
 *   OBJECT_CORRUPT, NETWORK, CONFLICT (timestamp check), LOCKED, IO
 */
export async function pull(repo: Repo, o: PullOptions): Promise<PullResult> {
  const remote = getRemote(repo, o.remote);
  checkRemoteUsable(remote);
  const env = o.env ?? process.env;
  const fetcher =
    o.fetcher ?? (await openRemoteFetcher(remote, { partialDir: join(repo.path, "tmp"), ...o }, repo.path));
  const localSrc = localImportSource(remote, o);
  try {
    if (o.requireStaticDeltas && repo.archive)
      throw new ArborError("UNSUPPORTED", "Can't use static deltas in an archive repo");
    const policy = await verifyPolicyFor(remote, {
      env,
      gpgVerify: o.gpgVerify,
      gpgVerifySummary: o.gpgVerifySummary,
      signVerify: o.signVerify,
      signVerifySummary: o.signVerifySummary,
    });
    const need = await summaryNeed(remote, fetcher, {
      ...o,
      // pinned collection–refs name their commits, as REF@CHECKSUM does
      ...(o.collectionRefs?.length ? { refs: o.collectionRefs.map((c) => `${c.ref}@${c.commit}`) } : {}),
      deltasOff: !!(repo.archive || o.commitMetadataOnly || o.disableStaticDeltas || localSrc),
    });
    const rs: RemoteSummary =
      need !== "summary"
        ? { bytes: null, sigBytes: null, summary: null, sig: null, fromCache: false }
        : await fetchRemoteSummary(repo, o.remote, fetcher, {
            cacheName: o.url ? undefined : o.remote,
            ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
            policy,
            failOnInvalidCache: (env.OSTREE_REPO_TEST_ERROR ?? "").split(/[,:; ]/).includes("invalid-cache"),
            signal: o.signal,
          });
    const targets = await resolvePullTargets(remote, fetcher, rs.summary, o);
    const needsPolicy = policy.gpg || policy.commitEngines !== null;
    const run = new PullRun(
      repo,
      o,
      fetcher,
      needsPolicy ? policy : null,
      rs.summary,
      bindingCollectionId(remote, o.url),
    );
    const result: PulledRef[] = [];
    const proven: Array<{ t: (typeof targets)[number]; p: ProvenCommit }> = [];
    for (const t of targets) {
      const p = (await run.prove(t.commit, t.ref, false))!;
      if (t.ref !== null && (o.timestampCheck || o.timestampCheckFromRev)) {
        const base = timestampBase(repo, o, t.ref);
        if (base) checkTimestamps(base, repo.loadCommit(base).timestamp, t.commit, p.commit.timestamp);
      }
      proven.push({ t, p });
      const dest = refDestination(o.mirror ? null : o.remote, t);
      result.push({
        ref: t.ref,
        ...(dest.collectionId ? { collectionId: dest.collectionId } : {}),
        commit: t.commit,
        previous: t.ref === null ? null : readDestination(repo, t.ref, dest),
      });
    }
    // static deltas (src/pull/delta-pull.ts): chosen here, applied before the tree walk
    const deltas = await planPullDeltas(repo, fetcher, need === "indexed" ? "indexed" : rs.summary, result, {
      ...o,
      disableStaticDeltas: o.disableStaticDeltas || !!localSrc, // as ostree for local sources
    });
    run.stats.bytesTransferred = fetcher.bytesTransferred;
    if (o.dryRun)
      return { remote: o.remote, refs: result, stats: run.stats, dryRun: true, deltas: deltas.summary };

    const caches = (o.localcacheRepos ?? []).map((p) => Repo.open(p));
    // in memory only: this pull's transactions skip syncfs, the config file is untouched
    if (o.disableFsync) repo.config.set("core", "fsync", "false");
    if (localSrc) {
      const commits: string[] = [];
      for (const { p } of proven) await run.lineage(p, o.depth ?? 0, commits);
      await importCommits(localSrc, repo, commits, o, run.stats);
    } else await fetchObjects(run, fetcher, deltas, proven, caches);
    // Refs last: every object they name is durable now.
    for (const r of result) {
      if (r.ref === null || r.previous === r.commit) continue;
      if (r.collectionId) writeCollectionRef(repo, r.collectionId, r.ref, r.commit);
      else writeRefFile(repo, r.ref, r.commit, o.mirror ? null : o.remote);
    }
    if (result.some((r) => r.ref !== null && r.previous !== r.commit)) await maybeAutoUpdateSummary(repo);
    if (
      o.mirror &&
      !o.refs?.length &&
      !o.collectionRefs?.length &&
      !remote.getList("branches")?.length &&
      rs.bytes
    ) {
      writeFileAtomicSync(join(repo.path, "summary"), rs.bytes, { mode: 0o644 });
      if (rs.sigBytes) writeFileAtomicSync(join(repo.path, "summary.sig"), rs.sigBytes, { mode: 0o644 });
      else rmSync(join(repo.path, "summary.sig"), { force: true });
    }
    run.stats.bytesTransferred = localSrc ? 0 : fetcher.bytesTransferred; // ostree: local imports transfer nothing
    run.stats.elapsedMs = Date.now() - run.stats.startMs;
    run.stats.scanning = false;
    return {
      remote: o.remote,
      refs: result,
      stats: run.stats,
      dryRun: false,
      ...(localSrc ? { local: true } : {}),
      deltas: deltas.summary,
    };
  } catch (e) {
    throw isArborError(e) ? e : withContext(`Cannot pull from remote "${o.remote}"`, e);
  } finally {
    if (!o.fetcher) await fetcher.close();
  }
}

/**
 * Fetch a remote's summary (cached, verified as the remote requires) — for `remote refs`,
 * `remote summary`.
 * @throws ArborError NOT_FOUND (remote), SIGNATURE_*, NETWORK
 */
export async function fetchSummaryOfRemote(
  repo: Repo,
  name: string,
  o: { env?: Readonly<Record<string, string | undefined>>; signal?: AbortSignal; fetcher?: Fetcher } = {},
): Promise<RemoteSummary> {
  const remote = getRemote(repo, name);
  const fetcher =
    o.fetcher ?? (await openRemoteFetcher(remote, { remote: name, signal: o.signal }, repo.path));
  try {
    const policy = await verifyPolicyFor(remote, { env: o.env });
    return await fetchRemoteSummary(repo, name, fetcher, { cacheName: name, policy, signal: o.signal });
  } finally {
    if (!o.fetcher) await fetcher.close();
  }
}
