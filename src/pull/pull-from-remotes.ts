/**
 * `find-remotes --pull` (as ostree_repo_pull_from_remotes_async): pull the refs each finder result
 * is newest for, best result first. A ref is taken from the first result whose pull succeeds; a
 * failed pull leaves its refs to the next results. Each pull is an ordinary `pull` of
 * collection–refs pinned to the found commits, with ostree's settings for it: commit GPG
 * signatures always required, summary signatures not (the finder already verified the summary as
 * the remote requires), sign-verify off.
 */
import { ArborError, isArborError } from "../errors.js";
import type { Repo } from "../repo/repo.js";
import { type CollectionRef, type FinderResult, inCollectionRefHashOrder } from "./find-remotes.js";
import { type PullResult, pull } from "./pull.js";

/** Options of {@link pullFromRemotes}. */
export interface PullFromRemotesOptions {
  /** Mirror pull: refs go to refs/mirrors/COLLECTION/ (refs/heads for the repo's own collection). */
  mirror?: boolean;
  disableFsync?: boolean;
  /** Summary cache directory (`--cache-dir`). */
  cacheDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
}

/** What {@link pullFromRemotes} did. */
export interface PullFromRemotesResult {
  /** One entry per pull made (remote and what it pulled). */
  pulls: PullResult[];
  /** The collection–refs pulled. */
  refs: Array<CollectionRef & { checksum: string; remote: string }>;
}

/**
 * Pull the refs of `results` (see the file comment).
 * @throws ArborError "Failed to pull some refs from the remotes: (C, R), …" with the code of the
 *   first failed pull (the causes are attached); the pull's own error when aborted
 */
export async function pullFromRemotes(
  repo: Repo,
  results: FinderResult[],
  o: PullFromRemotesOptions = {},
): Promise<PullFromRemotesResult> {
  const pulled = new Map<string, CollectionRef & { ok: boolean }>();
  const key = (r: CollectionRef): string => `${r.collectionId}\u0000${r.ref}`;
  const out: PullFromRemotesResult = { pulls: [], refs: [] };
  const failures: unknown[] = [];
  for (const result of results) {
    const todo = result.refs.filter(
      (r): r is CollectionRef & { checksum: string } => r.checksum !== null && !pulled.get(key(r))?.ok,
    );
    if (todo.length === 0) continue;
    try {
      const res = await pull(repo, {
        remote: result.remote,
        collectionRefs: todo.map((r) => ({ collectionId: r.collectionId, ref: r.ref, commit: r.checksum })),
        mirror: !!o.mirror,
        gpgVerify: true,
        gpgVerifySummary: false,
        signVerify: false,
        signVerifySummary: false,
        disableFsync: o.disableFsync,
        ...(o.cacheDir ? { cacheDir: o.cacheDir } : {}),
        env: o.env,
        signal: o.signal,
      });
      out.pulls.push(res);
      for (const r of todo) {
        pulled.set(key(r), { collectionId: r.collectionId, ref: r.ref, ok: true });
        out.refs.push({
          collectionId: r.collectionId,
          ref: r.ref,
          checksum: r.checksum,
          remote: result.remote,
        });
      }
    } catch (e) {
      if (o.signal?.aborted) throw e;
      failures.push(e);
      for (const r of todo) pulled.set(key(r), { collectionId: r.collectionId, ref: r.ref, ok: false });
    }
  }
  const failed = inCollectionRefHashOrder([...pulled.values()]).filter((r) => !r.ok);
  if (failed.length) {
    const first = failures[0];
    throw new ArborError(
      isArborError(first) ? first.code : "IO",
      `Failed to pull some refs from the remotes: ${failed.map((r) => `(${r.collectionId}, ${r.ref})`).join(", ")}`,
      { cause: failures.length === 1 ? failures[0] : new AggregateError(failures) },
    );
  }
  return out;
}
