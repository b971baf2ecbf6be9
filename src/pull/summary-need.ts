/**
 * Whether a pull needs the remote's summary, decided as ostree 2022.7 does: the summary (which can
 * be large) is fetched only when a requested ref must be resolved to a commit, when a mirror pulls
 * every ref, or when static deltas may be used and the remote does not index them outside the
 * summary (`core.indexed-deltas=true` in the remote's `config`). A pull of `REF@CHECKSUM`s or
 * commit checksums from a remote with indexed deltas (or with deltas off) never reads the summary,
 * so a broken or missing summary does not stop it.
 */
import { isChecksum } from "../core/validate.js";
import { isArborError } from "../errors.js";
import { KeyFile } from "../repo/config.js";
import type { Remote } from "../repo/remotes.js";
import { type Fetcher, MAX_REMOTE_CONFIG_SIZE } from "./fetcher.js";

/**
 * What the pull needs: the summary; or no summary, with deltas looked up in the remote's delta
 * indexes (`"indexed"`); or neither (`"none"`: deltas off).
 */
export type SummaryNeed = "summary" | "indexed" | "none";

/** The options of a pull that bear on the decision. */
export interface SummaryNeedOptions {
  refs?: string[];
  mirror?: boolean;
  /** Deltas cannot be used: `--disable-static-deltas`, `--commit-metadata-only`, archive repo. */
  deltasOff: boolean;
  signal?: AbortSignal;
}

/** True when `req` names its commit (`CHECKSUM` or `REF@CHECKSUM`). */
function hasCommit(req: string): boolean {
  if (isChecksum(req)) return true;
  const at = req.indexOf("@");
  return at >= 0 && at < req.length - 1;
}

/**
 * Decide whether the pull needs the summary (see the file comment).
 * @throws ArborError NETWORK when the remote's `config` cannot be fetched (other than 404).
 */
export async function summaryNeed(
  remote: Remote,
  fetcher: Fetcher,
  o: SummaryNeedOptions,
): Promise<SummaryNeed> {
  const requested = o.refs?.length ? o.refs : (remote.getList("branches") ?? []);
  if (requested.length === 0) return "summary"; // mirror of every ref, or the "no branches" error
  if (!requested.every(hasCommit)) return "summary";
  if (o.deltasOff) return "none";
  const r = await fetcher.get("url", "config", {
    optional: true,
    maxBytes: MAX_REMOTE_CONFIG_SIZE,
    signal: o.signal,
  });
  if (!r) return "summary";
  try {
    const kf = KeyFile.parse(Buffer.from(r.data).toString("utf8"), "remote config");
    return kf.getBool("core", "indexed-deltas", false) ? "indexed" : "summary";
  } catch (e) {
    if (isArborError(e, "BAD_CONFIG")) return "summary"; // unreadable: take the summary's word
    throw e;
  }
}
