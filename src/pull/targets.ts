/**
 * What a pull fetches: each requested ref resolved to a commit through the remote's summary, or,
 * when the remote has none, through `refs/heads/REF` on the server. Requests may also be bare
 * commit checksums (no ref moves) or `REF@CHECKSUM` (that commit, written to REF). With no
 * request: the remote's configured `branches`, or in mirror mode every ref of the summary.
 */
import { isChecksum, validateRef } from "../core/validate.js";
import { ArborError } from "../errors.js";
import type { Remote } from "../repo/remotes.js";
import type { Summary } from "../repo/summary.js";
import type { Fetcher } from "./fetcher.js";

/** One thing to pull. */
export interface PullTarget {
  ref: string | null;
  commit: string;
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
  o: { refs?: string[]; mirror?: boolean; signal?: AbortSignal },
): Promise<PullTarget[]> {
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
      return summary.refs.map((r) => ({ ref: r.ref, commit: r.checksum }));
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
      out.push({ ref: req, commit: e.checksum });
    } else {
      out.push({ ref: req, commit: await refFromServer(fetcher, req, o.signal) });
    }
  }
  return out;
}
