/**
 * The cache of remote summaries: `tmp/cache/summaries/REMOTE` and `REMOTE.sig` (ostree's
 * `_OSTREE_SUMMARY_CACHE_DIR` under the repo's cache dir), filled by pull and `remote summary`,
 * revalidated with ETag / Last-Modified. `prune` drops the entries of remotes that no longer
 * exist, as ostree's prune does.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { errnoCode, fromSystemError } from "../errors.js";
import type { Repo } from "./repo.js";

/** Where a repository caches its remotes' summaries. */
export function summaryCacheDir(repo: Repo): string {
  return join(repo.path, "tmp", "cache", "summaries");
}

/**
 * Remove cached summaries (and their `.sig`) of remotes not in `remotes`.
 * @returns the file names removed.
 * @throws ArborError IO when the cache cannot be read or an entry cannot be removed.
 */
export function pruneSummaryCache(repo: Repo, remotes: Iterable<string>): string[] {
  const keep = new Set(remotes);
  const dir = summaryCacheDir(repo);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return [];
    throw fromSystemError(`Cannot read summary cache "${dir}"`, e);
  }
  const removed: string[] = [];
  for (const n of names.sort()) {
    const base = n.endsWith(".sig") ? n.slice(0, -4) : n;
    if (keep.has(base)) continue;
    try {
      rmSync(join(dir, n), { force: true, recursive: true });
    } catch (e) {
      throw fromSystemError(`Cannot remove cached summary "${n}"`, e);
    }
    removed.push(n);
  }
  return removed;
}
