/**
 * Which static delta a pull uses (fact sheet §5.2, "Delta choice"), as ostree 2022.7 decides:
 *
 *  1. The deltas to the wanted commit are listed from its delta index
 *     (`delta-indexes/XX/REST.index`) when the summary says `ostree.summary.indexed-deltas`, and
 *     from the summary's `ostree.static-deltas`; each comes with the SHA-256 of its superblock.
 *     With no summary at all, the superblocks are probed blind (FROM-TO, then from scratch).
 *  2. A delta from the commit the local ref points to wins; else one from any commit the local
 *     repository holds completely; else the from-scratch delta; else none (loose objects).
 *  3. The superblock is fetched and checked against the digest the summary or index gave.
 *
 * Access to the remote is abstracted ({@link DeltaAccess}) so `pull` (HTTP, file://) and
 * `pull-local --require-static-deltas` share this logic.
 */
import { sha256Hex } from "../core/checksum.js";
import { lookup, type VarDict } from "../core/metadata.js";
import { decodeSuperblock, type Superblock } from "../delta/superblock.js";
import { ArborError } from "../errors.js";
import {
  type DeltaEndpoints,
  deltaDir,
  deltaIndexPath,
  deltaName,
  parseDeltaName,
} from "../repo/delta-naming.js";
import { decodeDeltaIndex, decodeDeltaMap, STATIC_DELTAS_KEY } from "../repo/delta-store.js";
import type { Repo } from "../repo/repo.js";
import type { Summary } from "../repo/summary.js";
import { MAX_FETCHED_METADATA_SIZE } from "./objects.js";

/**
 * Reads a file of the remote repository by relative path; null when it does not exist. A file
 * larger than `maxBytes` is refused (ArborError OBJECT_CORRUPT) without being read whole:
 * superblocks and delta indexes are bounded as metadata, parts by their size in the superblock.
 */
export type DeltaAccess = (path: string, maxBytes: number) => Promise<Uint8Array | null>;

/** A chosen delta with its fetched, checked superblock. */
export interface ChosenDelta {
  delta: DeltaEndpoints;
  superblock: Superblock;
}

/**
 * Where the deltas are listed: the remote's summary; `"indexed"` when the pull skipped the summary
 * because the remote's config says its deltas are indexed (delta indexes only); null for a remote
 * with no summary (blind probes).
 */
export type DeltaSummary = Summary | "indexed" | null;

/** Delta name → superblock digest (null = unknown: a blind probe). */
async function candidates(
  access: DeltaAccess,
  summary: DeltaSummary,
  to: string,
  localFrom: string | null,
): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  if (!summary) {
    if (localFrom) out.set(deltaName({ from: localFrom, to }), null);
    out.set(to, null);
    return out;
  }
  const indexed = summary === "indexed" ? null : lookup(summary.metadata, "ostree.summary.indexed-deltas");
  if (summary === "indexed" || (indexed?.type === "b" && indexed.value === true)) {
    const idx = await access(deltaIndexPath(to), MAX_FETCHED_METADATA_SIZE);
    if (idx) for (const [n, h] of decodeDeltaIndex(idx)) out.set(n, h);
  }
  if (summary === "indexed") return out;
  const inSummary = lookup(summary.metadata, STATIC_DELTAS_KEY);
  if (inSummary?.type === "a{sv}") {
    for (const [n, h] of decodeDeltaMap(inSummary.value as VarDict, "summary"))
      if (!out.has(n)) out.set(n, h);
  }
  return out;
}

/**
 * Choose and fetch the delta to `to`, or null when there is none usable.
 * @param localFrom the commit the ref points to locally (null if none).
 * @throws ArborError OBJECT_CORRUPT (superblock digest mismatch, bad superblock), NETWORK
 */
export async function chooseDelta(
  repo: Repo,
  access: DeltaAccess,
  summary: DeltaSummary,
  to: string,
  localFrom: string | null,
): Promise<ChosenDelta | null> {
  const all = await candidates(access, summary, to, localFrom);
  const usable = (from: string): boolean => repo.hasObject("commit", from) && !repo.isCommitPartial(from);
  const ranked: Array<[DeltaEndpoints, string | null]> = [];
  for (const [name, digest] of all) {
    const d = parseDeltaName(name);
    if (d.to !== to) continue;
    if (d.from && !usable(d.from)) continue;
    ranked.push([d, digest]);
  }
  const rank = (d: DeltaEndpoints): number => (d.from === null ? 2 : d.from === localFrom ? 0 : 1);
  ranked.sort((a, b) => rank(a[0]) - rank(b[0]));
  for (const [d, digest] of ranked) {
    const file = await access(`${deltaDir(d)}/superblock`, MAX_FETCHED_METADATA_SIZE);
    if (!file) {
      if (digest === null) continue; // blind probe: no such delta
      throw new ArborError("NOT_FOUND", `Cannot fetch static delta ${deltaName(d)}: superblock not found`);
    }
    if (digest !== null && sha256Hex(file) !== digest)
      throw new ArborError("OBJECT_CORRUPT", `Invalid checksum for static delta ${deltaName(d)}`);
    const sb = decodeSuperblock(file);
    if (sb.to !== d.to || sb.from !== d.from)
      throw new ArborError(
        "OBJECT_CORRUPT",
        `Invalid static delta ${deltaName(d)}: superblock names other commits`,
      );
    return { delta: d, superblock: sb };
  }
  return null;
}

/** The error `--require-static-deltas` gives when no delta was found. */
export function noDeltaError(from: string | null, to: string): ArborError {
  return new ArborError(
    "NOT_FOUND",
    `Static deltas required, but none found for ${from ?? "(null)"} to ${to}`,
  );
}
