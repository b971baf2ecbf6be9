/**
 * Getting a remote's summary (fact sheet §3.6, §5.2): `summary.sig` first, then `summary`,
 * both optional. When the remote publishes a signature, the pair is cached in
 * `tmp/cache/summaries/REMOTE{,.sig}` (ETag in the `user.etag` xattr, Last-Modified as the file
 * mtime, as OSTree keeps them), and a later pull whose `summary.sig` is unchanged reuses the
 * cached summary without downloading it. The summary is verified here when the remote requires
 * it (`gpg-verify-summary`, `sign-verify-summary`); a cached summary that fails verification is
 * fetched again before giving up.
 */
import { closeSync, mkdirSync, openSync, readFileSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { VarDict } from "../core/metadata.js";
import { ArborError, errnoCode } from "../errors.js";
import { SUMMARY } from "../gvariant/formats.js";
import { isNormalForm } from "../gvariant/index.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { native } from "../io/native.js";
import type { Repo } from "../repo/repo.js";
import { decodeSignatureDict, decodeSummary, type Summary } from "../repo/summary.js";
import { summaryCacheDir } from "../repo/summary-cache.js";
import { type VerifyPolicy, verifySummaryForRemote } from "../sign/remote-verify.js";
import type { Fetched, Fetcher } from "./fetcher.js";
import { MAX_FETCHED_METADATA_SIZE } from "./objects.js";

/** A remote's summary as fetched (or taken from the cache). */
export interface RemoteSummary {
  /** Exact bytes (mirrors copy them verbatim); null when the remote has none. */
  bytes: Uint8Array | null;
  sigBytes: Uint8Array | null;
  summary: Summary | null;
  sig: VarDict | null;
  fromCache: boolean;
}

interface CacheEntry {
  data: Uint8Array;
  etag?: string;
  lastModified?: string;
}

function readCache(dir: string, name: string): CacheEntry | null {
  const p = join(dir, name);
  let data: Uint8Array;
  try {
    data = readFileSync(p);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return null;
    return null;
  }
  let etag: string | undefined;
  try {
    const v = native().lgetxattr(p, "user.etag");
    if (v?.length) etag = Buffer.from(v).toString("utf8");
  } catch {}
  let lastModified: string | undefined;
  try {
    const m = statSync(p).mtime;
    if (m.getTime() > 0) lastModified = m.toUTCString();
  } catch {}
  return { data, etag, lastModified };
}

function writeCache(dir: string, name: string, f: Fetched | CacheEntry): void {
  mkdirSync(dir, { recursive: true });
  const p = join(dir, name);
  // a cache: no fsync needed, a torn write only costs a re-download
  writeFileAtomicSync(p, f.data, { mode: 0o644, fsync: false });
  try {
    const fd = openSync(p, "r");
    try {
      if (f.etag) native().fsetxattr(fd, "user.etag", Buffer.from(f.etag));
    } finally {
      closeSync(fd);
    }
  } catch {
    // no user xattrs here: conditional requests just won't be used
  }
  if (f.lastModified) {
    const t = Date.parse(f.lastModified);
    if (Number.isFinite(t)) utimesSync(p, t / 1000, t / 1000);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** Parse summary bytes as OSTree requires (normal form). @throws ArborError OBJECT_CORRUPT */
export function parseRemoteSummary(bytes: Uint8Array, remote: string): Summary {
  if (!isNormalForm(SUMMARY, bytes)) {
    throw new ArborError("OBJECT_CORRUPT", `Invalid summary of remote "${remote}": Not normal form`);
  }
  return decodeSummary(bytes, `summary of remote "${remote}"`);
}

export interface FetchSummaryOptions {
  /** Cache key (the remote name); no caching when undefined (e.g. `--url` pulls without a remote). */
  cacheName?: string;
  policy?: VerifyPolicy;
  /** Cache summaries under DIR/summaries instead of the repo's tmp/cache (`pull --cache-dir`). */
  cacheDir?: string;
  /** Test knob matching OSTREE_REPO_TEST_ERROR=invalid-cache. */
  failOnInvalidCache?: boolean;
  signal?: AbortSignal;
}

/**
 * Fetch (or reuse) a remote's summary and signature and verify them as `policy` requires.
 * @throws ArborError SIGNATURE_MISSING/SIGNATURE_INVALID, OBJECT_CORRUPT, NETWORK
 */
export async function fetchRemoteSummary(
  repo: Repo,
  remote: string,
  fetcher: Fetcher,
  opts: FetchSummaryOptions = {},
): Promise<RemoteSummary> {
  const name = opts.cacheName;
  const get = (path: string, cached: CacheEntry | null): Promise<Fetched | null> =>
    fetcher.get("url", path, {
      optional: true,
      maxBytes: MAX_FETCHED_METADATA_SIZE,
      ifNoneMatch: cached?.etag,
      ifModifiedSince: cached?.etag ? undefined : cached?.lastModified,
      signal: opts.signal,
    });

  // `pull --cache-dir=DIR` keeps the summaries in DIR/summaries instead of the repo's cache
  const dir = opts.cacheDir ? join(opts.cacheDir, "summaries") : summaryCacheDir(repo);
  const cachedSig = name ? readCache(dir, `${name}.sig`) : null;
  const cachedSummary = name ? readCache(dir, name) : null;
  let sigF = await get("summary.sig", cachedSig);
  if (sigF?.notModified) sigF = cachedSig ? { ...cachedSig, notModified: false } : null;
  let sumF: Fetched | null = null;
  let fromCache = false;
  if (sigF && cachedSig && cachedSummary && sameBytes(sigF.data, cachedSig.data)) {
    sumF = { ...cachedSummary, notModified: false };
    fromCache = true;
  } else {
    sumF = await get("summary", cachedSummary);
    if (sumF?.notModified) {
      sumF = cachedSummary ? { ...cachedSummary, notModified: false } : null;
      fromCache = sumF !== null;
    }
  }
  const policy = opts.policy;
  if (policy?.gpgSummary && !sumF) {
    throw new ArborError(
      "SIGNATURE_MISSING",
      "GPG verification enabled, but no summary found (use gpg-verify-summary=false in remote config to disable)",
    );
  }
  if (policy?.gpgSummary && !sigF) {
    throw new ArborError(
      "SIGNATURE_MISSING",
      "GPG verification enabled, but no summary.sig found (use gpg-verify-summary=false in remote config to disable)",
    );
  }
  if (policy?.summaryEngines && !sigF) {
    throw new ArborError(
      "SIGNATURE_MISSING",
      "Signatures verification enabled, but no summary.sig found (use sign-verify-summary=false in remote config to disable)",
    );
  }
  // Decoded only when something verifies it: a mirror without verification copies it verbatim,
  // even if it is garbage (as ostree does).
  const verifying = !!policy && !!sumF && (policy.gpgSummary || policy.summaryEngines !== null);
  let sig: VarDict | null = null;
  if (sigF) {
    try {
      sig = decodeSignatureDict(sigF.data, `summary.sig of remote "${remote}"`);
    } catch {
      // unreadable: no signatures at all (ostree reads it leniently as an empty dictionary), so
      // a required verification fails with "no signatures found"
      sig = verifying ? [] : null;
    }
  }
  if (verifying && policy && sumF) {
    try {
      await verifySummaryForRemote(repo, policy, sumF.data, sig);
    } catch (e) {
      if (!fromCache) throw e;
      if (opts.failOnInvalidCache) {
        throw new ArborError(
          "SIGNATURE_INVALID",
          `Remote ${remote} cached summary invalid and OSTREE_REPO_TEST_ERROR_INVALID_CACHE specified`,
        );
      }
      // the cached summary does not match the new signature: fetch it again, no cache headers
      sumF = await get("summary", null);
      fromCache = false;
      if (!sumF) throw e;
      await verifySummaryForRemote(repo, policy, sumF.data, sig);
    }
  }
  const summary = sumF ? parseRemoteSummary(sumF.data, remote) : null;
  if (name && sumF && sigF && !fromCache) {
    writeCache(dir, name, sumF);
    writeCache(dir, `${name}.sig`, sigF);
  }
  return { bytes: sumF?.data ?? null, sigBytes: sigF?.data ?? null, summary, sig, fromCache };
}
