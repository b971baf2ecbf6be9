/**
 * `pull` from a `file://` remote whose repository is not `archive` (bare, bare-user,
 * bare-user-only): such a repository has no `.filez` objects to fetch, so — as ostree, which opens
 * any `file://` remote as a local repository — its objects are imported with pull-local's copying
 * (src/repo/pull-local.ts), in whatever mode it stores them. Everything else stays pull's: the
 * summary, ref resolution, commit signatures and bindings (each commit is proven through the
 * fetcher before anything is copied), remote refs, `--mirror`.
 *
 * Trust follows pull-local and ostree: a local source is trusted (objects stored under their names,
 * still decoded and size-checked) unless `untrusted`, which re-hashes every object and refuses a
 * corrupt one, naming it, keeping nothing of the pull. Archive sources keep the fetcher path
 * (every object verified, as over HTTP).
 */
import { fileURLToPath } from "node:url";
import { ArborError } from "../errors.js";
import { pullLocal } from "../repo/pull-local.js";
import type { Remote } from "../repo/remotes.js";
import { Repo } from "../repo/repo.js";
import type { PullStats } from "./progress.js";

/**
 * The repository a pull must import from directly: the remote's (or `url`'s) `file://` location
 * when it is a repository in a mode other than archive and static deltas are not required; else
 * null (the fetcher serves it).
 * @throws ArborError NOT_FOUND / BAD_CONFIG when the `file://` location is not a repository
 *   (only for a non-archive check: an unreadable location is left to the fetcher's error)
 */
export function localImportSource(
  remote: Remote,
  o: { url?: string; requireStaticDeltas?: boolean },
): Repo | null {
  const u = o.url ?? remote.url;
  if (!u?.startsWith("file://") || o.requireStaticDeltas) return null;
  let src: Repo;
  try {
    src = Repo.open(fileURLToPath(u));
  } catch {
    return null; // not a repository: the fetcher says what is missing, as before
  }
  return src.archive ? null : src;
}

/** What {@link importCommits} needs from the pull's options. */
export interface LocalImportOptions {
  /** Re-hash every object (`--untrusted`); default: trust the local source, as ostree. */
  untrusted?: boolean;
  commitMetadataOnly?: boolean;
  bareUserOnlyFiles?: boolean;
  disableFsync?: boolean;
  subpaths?: string[];
  signal?: AbortSignal;
}

/**
 * Copy the given (already proven) commits with their trees and detached metadata from `src` into
 * `dst`, without touching refs, counting what was imported into `stats`.
 * @throws ArborError UNSUPPORTED (`subpaths`), OBJECT_NOT_FOUND / OBJECT_CORRUPT (naming the
 *   object; nothing is kept), LOCKED, NO_SPACE, IO, ABORTED
 */
export async function importCommits(
  src: Repo,
  dst: Repo,
  commits: string[],
  o: LocalImportOptions,
  stats: PullStats,
): Promise<void> {
  if (o.subpaths?.length) {
    throw new ArborError(
      "UNSUPPORTED",
      `Cannot pull subpaths from "${src.path}": only archive repositories can be pulled partially`,
    );
  }
  if (commits.length === 0) return;
  const r = await pullLocal(src, dst, {
    refs: commits,
    depth: 0,
    untrusted: o.untrusted === true,
    commitMetadataOnly: o.commitMetadataOnly,
    bareUserOnlyFiles: o.bareUserOnlyFiles,
    disableFsync: o.disableFsync,
    // bindings were checked by pull for each requested ref, against the source's collection
    disableVerifyBindings: true,
    signal: o.signal,
  });
  stats.importedMetadata += r.metadataImported;
  stats.importedContent += r.contentImported;
  stats.contentBytesWritten += r.contentBytesWritten;
}
