/**
 * What a pull fetches: each requested ref resolved to a commit through the remote's summary, or,
 * when the remote has none, through `refs/heads/REF` on the server. Requests may also be bare
 * commit checksums (no ref moves) or `REF@CHECKSUM` (that commit, written to REF). With no
 * request: the remote's configured `branches`, or in mirror mode every ref of the summary.
 */

import { lookup } from "../core/metadata.js";
import { isChecksum, validateRef } from "../core/validate.js";
import { ArborError } from "../errors.js";
import { isCollectionId } from "../repo/ref-listing.js";
import { readCollectionRef, readRef } from "../repo/refs.js";
import type { Remote } from "../repo/remotes.js";
import type { Repo } from "../repo/repo.js";
import { SUMMARY_KEYS, type Summary, summaryCollectionMap } from "../repo/summary.js";
import type { Fetcher } from "./fetcher.js";

/** One thing to pull. */
export interface PullTarget {
  ref: string | null;
  commit: string;
  /**
   * The collection the ref belongs to, when known (as ostree resolves it: the summary's
   * `ostree.summary.collection-id` for its main refs, the collection-map key for the others, or
   * the requested collection–ref); a mirror pull writes the ref as this collection–ref.
   */
  collectionId?: string;
}

/** A collection–ref pinned to a commit (`find-remotes --pull`: what the finder resolved). */
export interface CollectionRefTarget {
  collectionId: string;
  ref: string;
  commit: string;
}

/** The summary's own collection ID (`ostree.summary.collection-id`), if any. */
function checkCollectionId(cid: string): string {
  if (!isCollectionId(cid)) throw new ArborError("BAD_NAME", `Invalid collection ID ${cid}`);
  return cid;
}

/**
 * The summary's own collection ID (`ostree.summary.collection-id`), if any.
 * @throws ArborError BAD_NAME when it is not a valid collection ID
 */
export function summaryCollectionId(summary: Summary): string | undefined {
  const v = lookup(summary.metadata, SUMMARY_KEYS.collectionId);
  return v?.type === "s" ? checkCollectionId(v.value as string) : undefined;
}

/** OSTree shows at most 64 printable characters of a bad ref file (it may be an HTML page). */
function quash(s: string): string {
  return s.slice(0, 64).replace(/[^\x20-\x7e]/g, " ");
}

async function refFromServer(fetcher: Fetcher, ref: string, signal?: AbortSignal): Promise<string> {
  const r = await fetcher.get("url", `refs/heads/${ref}`, { maxBytes: 4096, signal });
  const text = Buffer.from(r!.data).toString("utf8").replace(/\s+$/, "");
  if (!isChecksum(text)) {
    throw new ArborError(
      "OBJECT_CORRUPT",
      `Fetching checksum for ref ((empty), ${ref}): ${text.length !== 64 ? `Invalid rev ${quash(text)}` : `Invalid checksum "${quash(text)}"`}`,
    );
  }
  return text;
}

/**
 * Resolve the pull's targets.
 * @throws ArborError NOT_FOUND "No such branch 'x' in repository summary", BAD_REF, USAGE
 *   "No configured branches for remote x", OBJECT_CORRUPT (bad ref file on the server)
 */
export async function resolvePullTargets(
  remote: Remote,
  fetcher: Fetcher,
  summary: Summary | null,
  o: { refs?: string[]; collectionRefs?: CollectionRefTarget[]; mirror?: boolean; signal?: AbortSignal },
): Promise<PullTarget[]> {
  if (o.collectionRefs?.length) {
    return o.collectionRefs.map((c) => ({
      ref: validateRef(c.ref),
      commit: c.commit,
      collectionId: c.collectionId,
    }));
  }
  const mainCid = summary ? summaryCollectionId(summary) : undefined;
  let requested = o.refs ?? [];
  if (requested.length === 0) {
    const branches = remote.getList("branches") ?? [];
    if (branches.length) requested = branches;
    else if (o.mirror) {
      if (!summary) {
        throw new ArborError(
          "NOT_FOUND",
          "Fetching all refs was requested in mirror mode, but remote repository does not have a summary",
        );
      }
      const all: PullTarget[] = summary.refs.map((r) => ({
        ref: r.ref,
        commit: r.checksum,
        collectionId: mainCid,
      }));
      for (const [cid, refs] of summaryCollectionMap(summary))
        for (const r of refs)
          if (checkCollectionId(cid)) all.push({ ref: r.ref, commit: r.checksum, collectionId: cid });
      return all;
    } else throw new ArborError("USAGE", `No configured branches for remote ${remote.name}`);
  }
  const out: PullTarget[] = [];
  for (const req of requested) {
    if (isChecksum(req)) {
      out.push({ ref: null, commit: req });
      continue;
    }
    const at = req.indexOf("@");
    if (at >= 0) {
      const ref = validateRef(req.slice(0, at));
      const commit = req.slice(at + 1);
      if (!isChecksum(commit))
        throw new ArborError("BAD_CHECKSUM", `Invalid checksum "${commit}" in "${req}"`);
      out.push({ ref, commit });
      continue;
    }
    validateRef(req);
    if (summary) {
      const e = summary.refs.find((r) => r.ref === req);
      if (!e)
        throw new ArborError("NOT_FOUND", `No such branch '${req}' in repository summary`, {
          data: { ref: req },
        });
      out.push({ ref: req, commit: e.checksum, collectionId: mainCid });
    } else {
      out.push({ ref: req, commit: await refFromServer(fetcher, req, o.signal) });
    }
  }
  return out;
}

/** Where a pulled ref is written: a collection–ref, or REF under refs/remotes/REMOTE (refs/heads when null). */
export interface RefDestination {
  collectionId?: string;
  remote: string | null;
}

/**
 * Where a pull writes a target's ref: a mirror pull (`remote` null) writes the collection–ref when
 * the collection is known, else refs/heads; other pulls write refs/remotes/REMOTE.
 */
export function refDestination(remote: string | null, t: PullTarget): RefDestination {
  return remote === null && t.collectionId ? { collectionId: t.collectionId, remote: null } : { remote };
}

/** The commit a destination holds now, or null. @throws ArborError BAD_REF, BAD_NAME */
export function readDestination(repo: Repo, ref: string, d: RefDestination): string | null {
  return d.collectionId ? readCollectionRef(repo, d.collectionId, ref) : readRef(repo, ref, d.remote);
}
