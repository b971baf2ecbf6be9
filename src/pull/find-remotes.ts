/**
 * `find-remotes` (as ostree_repo_find_remotes_async with the `config` finder): which configured
 * remotes serve the requested collection–refs, and which of them has the newest commit of each.
 *
 * 1. Config finder: every remote whose `collection-id` is a valid collection ID; its summary is
 *    fetched (cached, verified as `pull` verifies it: gpg-verify-summary, sign-verify-summary);
 *    a remote whose summary cannot be fetched or verified is ignored, as ostree does. A remote is
 *    a candidate when its summary lists one of the requested refs under the remote's collection ID.
 * 2. Every candidate's summary (main refs under `ostree.summary.collection-id`, the collection
 *    map) gives each requested ref's commit; a commit's timestamp comes from the local commit if
 *    present, else the summary entry, else the commit fetched from the remote (signature checked).
 *    A summary contradicting another about a commit's timestamp or size drops that remote.
 * 3. For each ref the newest commit wins; a remote keeps the refs for which it has the newest
 *    commit (the others are listed as not found) and is dropped when it has none.
 * Results are ordered as ostree orders them: priority, summary last-modified (older first),
 * fewer refs first, then remote name. Refs of a result are listed in GHashTable order, as ostree
 * prints them.
 */
import { type Commit, decodeCommit, lookup } from "../core/metadata.js";
import { isRef } from "../core/validate.js";
import { ArborError, isArborError } from "../errors.js";
import { ghashOrder, gStrHash } from "../gvariant/ghash-order.js";
import { isCollectionId } from "../repo/ref-listing.js";
import { listRemotes, loadRemotes, type Remote } from "../repo/remotes.js";
import type { Repo } from "../repo/repo.js";
import {
  SUMMARY_KEYS,
  type Summary,
  type SummaryRef,
  summaryCollectionMap,
  summaryRefTimestamp,
} from "../repo/summary.js";
import { verifyCommitForRemote, verifyPolicyFor } from "../sign/remote-verify.js";
import { fetchCommitMeta, fetchMetadata } from "./objects.js";
import { openRemoteFetcher } from "./remote-fetcher.js";
import { fetchRemoteSummary } from "./remote-summary.js";

/** A (collection ID, ref name) pair. */
export interface CollectionRef {
  collectionId: string;
  ref: string;
}

/** The repo finders ostree knows; arbor implements `config`. */
export const FINDER_NAMES = ["config", "lan", "mount"] as const;
/** A repo finder name accepted by `--finders`. */
export type FinderName = (typeof FINDER_NAMES)[number];

/** One remote found to serve some of the refs. */
export interface FinderResult {
  remote: string;
  /** The remote's `url` option, as ostree prints it. */
  url: string;
  /** ostree's type name of the finder that found it. */
  finder: "OstreeRepoFinderConfig";
  keyring: string;
  /** Lower is better; the config finder's is 100. */
  priority: number;
  /** `ostree.summary.last-modified` (seconds), 0 when unknown. */
  summaryLastModified: number;
  /** Every requested ref (GHashTable order); checksum null where this remote is not the newest. */
  refs: Array<CollectionRef & { checksum: string | null }>;
}

/** Options of {@link findRemotes}. */
export interface FindRemotesOptions {
  /** Finders to use (default: `core.default-repo-finders`, else `config`). */
  finders?: string[];
  /** Keep fetched summaries under DIR/summaries (`--cache-dir`). */
  cacheDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  /** Told of each remote left out because its summary could not be fetched or verified. */
  onIgnored?: (remote: string, reason: unknown) => void;
}

const CONFIG_PRIORITY = 100;

/** ostree_collection_ref_hash: g_str_hash of both parts, XORed. */
export function collectionRefHash(r: CollectionRef): number {
  return (gStrHash(r.collectionId) ^ gStrHash(r.ref)) >>> 0;
}

const keyOf = (r: CollectionRef): string => `${r.collectionId}\u0000${r.ref}`;

/** Collection–refs in the order a GHashTable keyed by them iterates (a later duplicate replaces the value, not the place). */
export function inCollectionRefHashOrder<T extends CollectionRef>(items: T[]): T[] {
  const byKey = new Map<string, T>();
  for (const it of items) byKey.set(keyOf(it), it);
  const hash = (k: string): number => {
    const it = byKey.get(k)!;
    return collectionRefHash(it);
  };
  return ghashOrder([...byKey.keys()], hash).map((k) => byKey.get(k)!);
}

/**
 * Check `--finders` as ostree does, and refuse the ones arbor does not implement.
 * @throws ArborError USAGE (empty, unknown or duplicate: ostree's wording), UNSUPPORTED (lan, mount)
 */
export function checkFinders(finders: string[]): FinderName[] {
  if (finders.length === 0 || (finders.length === 1 && finders[0] === ""))
    throw new ArborError("USAGE", "List of finders in --finders option must not be empty");
  const seen = new Set<string>();
  for (const f of finders) {
    if (!(FINDER_NAMES as readonly string[]).includes(f) || seen.has(f))
      throw new ArborError("USAGE", `Unknown or duplicate finder type given in --finders option: ‘${f}’`);
    seen.add(f);
  }
  for (const f of finders) {
    if (f !== "config") {
      throw new ArborError(
        "UNSUPPORTED",
        `Cannot use repo finder "${f}": not implemented by arbor (only "config" is)`,
      );
    }
  }
  return finders as FinderName[];
}

/** The finders to use when none are given: `core.default-repo-finders`, or `config`. */
function defaultFinders(repo: Repo): FinderName[] {
  const configured = repo.config.getList("core", "default-repo-finders");
  if (configured === undefined) return ["config"];
  const list = configured.filter((s) => s !== "");
  if (list.length === 0)
    throw new ArborError("BAD_CONFIG", "Invalid empty default-repo-finders configuration");
  for (const f of list)
    if (!(FINDER_NAMES as readonly string[]).includes(f))
      throw new ArborError("BAD_CONFIG", `Invalid configured repo-finder '${f}'`);
  // the finders arbor lacks are skipped here (no repository is found through them)
  return list.filter((f): f is FinderName => f === "config");
}

interface Candidate {
  remote: Remote;
  summary: Summary;
}

/** A remote's summary, verified; null (remote ignored) when it cannot be had. */
async function summaryOf(repo: Repo, remote: Remote, o: FindRemotesOptions): Promise<Summary | null> {
  const fetcher = await openRemoteFetcher(remote, { remote: remote.name, signal: o.signal }, repo.path);
  try {
    const policy = await verifyPolicyFor(remote, { env: o.env });
    const rs = await fetchRemoteSummary(repo, remote.name, fetcher, {
      cacheName: remote.name,
      ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
      policy,
      signal: o.signal,
    });
    return rs.summary;
  } finally {
    await fetcher.close();
  }
}

/** Every (collection, ref) → entry a summary lists. */
function summaryEntries(summary: Summary): Array<{ collectionId: string | null; entry: SummaryRef }> {
  const main = lookup(summary.metadata, SUMMARY_KEYS.collectionId);
  const mainCid = main?.type === "s" ? (main.value as string) : null;
  const out = summary.refs.map((entry) => ({ collectionId: mainCid, entry }));
  for (const [cid, refs] of summaryCollectionMap(summary))
    for (const entry of refs) out.push({ collectionId: cid, entry });
  return out;
}

/** The config finder: configured remotes with a collection ID whose summary lists a wanted ref. */
async function configFinder(repo: Repo, refs: CollectionRef[], o: FindRemotesOptions): Promise<Candidate[]> {
  const all = loadRemotes(repo);
  const out: Candidate[] = [];
  for (const name of listRemotes(repo)) {
    const remote = all.get(name)!;
    const cid = remote.get("collection-id");
    if (cid === undefined || !isCollectionId(cid)) continue;
    let summary: Summary | null;
    try {
      summary = await summaryOf(repo, remote, o);
    } catch (e) {
      if (isArborError(e, "ABORTED") || o.signal?.aborted) throw e;
      o.onIgnored?.(name, e); // ignored, as ostree does (it only logs a debug message)
      continue;
    }
    if (!summary) {
      o.onIgnored?.(
        name,
        new ArborError("NOT_FOUND", "Remote refs not available; server has no summary file"),
      );
      continue;
    }
    const listed = new Set(summaryEntries(summary).map((e) => `${e.collectionId}\u0000${e.entry.ref}`));
    if (refs.some((r) => r.collectionId === cid && listed.has(keyOf(r)))) out.push({ remote, summary });
  }
  return out;
}

interface CommitInfo {
  size: number;
  timestamp: number;
}

/** The timestamp of a commit no summary dated: fetched from a remote listing it, signature checked. */
async function fetchCommitTimestamp(repo: Repo, remote: Remote, checksum: string, o: FindRemotesOptions) {
  const fetcher = await openRemoteFetcher(remote, { remote: remote.name, signal: o.signal }, repo.path);
  try {
    const bytes = await fetchMetadata(fetcher, "commit", checksum, o.signal);
    const meta = await fetchCommitMeta(fetcher, checksum, o.signal);
    const policy = await verifyPolicyFor(remote, { env: o.env, gpgVerify: true });
    await verifyCommitForRemote(repo, policy, checksum, bytes, meta?.meta ?? null, { env: o.env });
    const commit: Commit = decodeCommit(bytes, `commit ${checksum}`);
    return commit.timestamp;
  } finally {
    await fetcher.close();
  }
}

/** ostree_repo_finder_result_compare. */
function compareResults(a: FinderResult, b: FinderResult): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.summaryLastModified && b.summaryLastModified && a.summaryLastModified !== b.summaryLastModified)
    return a.summaryLastModified - b.summaryLastModified;
  const n = (r: FinderResult): number => r.refs.filter((x) => x.checksum !== null).length;
  if (n(a) !== n(b)) return n(a) - n(b);
  return a.remote < b.remote ? -1 : a.remote > b.remote ? 1 : 0;
}

function lastModified(summary: Summary): number {
  const v = lookup(summary.metadata, SUMMARY_KEYS.lastModified);
  if (v?.type !== "t") return 0;
  const be = v.value as bigint;
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(be);
  return Number(buf.readBigUInt64BE());
}

/** A commit timestamp ostree can make a date of (years 1..9999), else 0. */
function sane(ts: number): number {
  return ts > 0 && ts <= 253402300799 ? ts : 0;
}

/**
 * Find remotes serving `refs` (see the file comment).
 * @returns the results, best first; empty when no remote serves any of the refs.
 * @throws ArborError BAD_NAME / BAD_REF (a requested collection ID or ref), USAGE / UNSUPPORTED /
 *   BAD_CONFIG (finders), SIGNATURE_* / NOT_FOUND / NETWORK (fetching an undated commit)
 */
export async function findRemotes(
  repo: Repo,
  refs: CollectionRef[],
  o: FindRemotesOptions = {},
): Promise<FinderResult[]> {
  for (const r of refs) {
    if (!isCollectionId(r.collectionId))
      throw new ArborError("BAD_NAME", `Invalid collection ID ${r.collectionId}`);
    if (!isRef(r.ref)) throw new ArborError("BAD_REF", `Invalid ref name ${r.ref}`);
  }
  const finders = o.finders ? checkFinders(o.finders) : defaultFinders(repo);
  const candidates = finders.includes("config") ? await configFinder(repo, refs, o) : [];
  if (candidates.length === 0) return [];
  // the finder's order (priority, then name: no refs or dates are known yet)
  candidates.sort((a, b) => (a.remote.name < b.remote.name ? -1 : a.remote.name > b.remote.name ? 1 : 0));

  const commits = new Map<string, CommitInfo>();
  // table[i][j]: the commit candidate j lists for refs[i]; undefined: not listed
  const table: Array<Array<string | undefined>> = refs.map(() => []);
  const valid = candidates.map(() => true);
  candidates.forEach((c, j) => {
    for (const { collectionId, entry } of summaryEntries(c.summary)) {
      if (collectionId === null) continue; // main refs count only under a collection ID
      const i = refs.findIndex((r) => r.collectionId === collectionId && r.ref === entry.ref);
      if (i < 0) continue;
      let info = commits.get(entry.checksum);
      const listedTs = sane(summaryRefTimestamp(entry) ?? 0);
      if (!info) {
        const local = repo.readMetadataMaybe("commit", entry.checksum);
        const localTs = local ? decodeCommit(local, `commit ${entry.checksum}`).timestamp : 0;
        info = { size: entry.commitSize, timestamp: localTs };
        commits.set(entry.checksum, info);
      }
      if (info.timestamp === 0) info.timestamp = listedTs;
      else if (listedTs !== 0 && listedTs !== info.timestamp) valid[j] = false;
      if (entry.commitSize !== info.size) valid[j] = false;
      if (!valid[j]) return;
      table[i]![j] = entry.checksum;
    }
  });

  // undated commits: ask the remotes listing them, best first
  for (const [checksum, info] of commits) {
    if (info.timestamp !== 0) continue;
    const j = candidates.findIndex((_, k) => valid[k] && table.some((row) => row[k] === checksum));
    if (j < 0) continue;
    info.timestamp = sane(await fetchCommitTimestamp(repo, candidates[j]!.remote, checksum, o));
  }

  const latest = refs.map((_, i) => {
    let best: string | undefined;
    candidates.forEach((_c, j) => {
      const cs = valid[j] ? table[i]![j] : undefined;
      if (
        cs !== undefined &&
        (best === undefined || commits.get(cs)!.timestamp > commits.get(best)!.timestamp)
      )
        best = cs;
    });
    return best;
  });

  const results: FinderResult[] = [];
  candidates.forEach((c, j) => {
    if (!valid[j]) return;
    const listed = refs.map((r, i) => ({
      ...r,
      checksum: latest[i] !== undefined && table[i]![j] === latest[i] ? latest[i]! : null,
    }));
    if (!listed.some((r) => r.checksum !== null)) return;
    results.push({
      remote: c.remote.name,
      url: c.remote.get("url") ?? c.remote.url,
      finder: "OstreeRepoFinderConfig",
      keyring: c.remote.keyringName,
      priority: CONFIG_PRIORITY,
      summaryLastModified: lastModified(c.summary),
      refs: inCollectionRefHashOrder(listed),
    });
  });
  return results.sort(compareResults);
}
