/**
 * Static deltas in `pull` (fact sheet §5.2): for each wanted commit the repository does not
 * hold completely, choose a delta (delta-choice.ts), then apply it (delta-fetch.ts) into the
 * pull's transaction before the ordinary tree walk runs; the walk then finds almost everything
 * present and fetches only what the delta left out (fallback objects) as loose objects.
 *
 * Never used for archive repositories or `--commit-metadata-only` (as ostree 2022.7), nor with
 * `--disable-static-deltas` or `--subpath`. `--require-static-deltas` turns "no delta" into an
 * error. Delta parts, indexes and superblocks come from the content URL.
 */
import { ArborError } from "../errors.js";
import type { Repo } from "../repo/repo.js";
import {
  type ChosenDelta,
  chooseDelta,
  type DeltaAccess,
  type DeltaSummary,
  noDeltaError,
} from "./delta-choice.js";
import { applyChosenDelta } from "./delta-fetch.js";
import type { Fetcher } from "./fetcher.js";
import type { ObjectPuller } from "./object-puller.js";

/** What `pull --dry-run` reports about the deltas it would use. */
export interface DeltaPullSummary {
  parts: number;
  /** Bytes of part files to fetch (compressed). */
  size: number;
  /** Bytes of objects the parts rebuild. */
  usize: number;
  fallbacks: number;
}

/** The deltas a pull will apply. */
export interface DeltaPlan {
  chosen: ChosenDelta[];
  summary: DeltaPullSummary;
}

/** Options that decide whether deltas are used. */
export interface DeltaPlanOptions {
  disableStaticDeltas?: boolean;
  requireStaticDeltas?: boolean;
  commitMetadataOnly?: boolean;
  subpaths?: string[];
  signal?: AbortSignal;
}

/** Reads remote files for delta-choice.ts through a pull's fetcher (404 → null), size-bounded. */
export function fetcherAccess(fetcher: Fetcher, signal?: AbortSignal): DeltaAccess {
  return async (path, maxBytes) =>
    (await fetcher.get("content", path, { optional: true, maxBytes, signal }))?.data ?? null;
}

/**
 * Choose the delta for each target (`previous` = the commit its ref points to locally).
 * @throws ArborError UNSUPPORTED (archive + required), NOT_FOUND (required but none),
 *   OBJECT_CORRUPT (superblock digest), NETWORK
 */
export async function planPullDeltas(
  repo: Repo,
  fetcher: Fetcher,
  summary: DeltaSummary,
  targets: Array<{ commit: string; previous: string | null }>,
  o: DeltaPlanOptions,
): Promise<DeltaPlan> {
  const plan: DeltaPlan = { chosen: [], summary: { parts: 0, size: 0, usize: 0, fallbacks: 0 } };
  if (o.requireStaticDeltas && repo.archive)
    throw new ArborError("UNSUPPORTED", "Can't use static deltas in an archive repo");
  if (repo.archive || o.commitMetadataOnly || o.disableStaticDeltas || o.subpaths?.length) return plan;
  const access = fetcherAccess(fetcher, o.signal);
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.commit)) continue;
    seen.add(t.commit);
    if (repo.hasObject("commit", t.commit) && !repo.isCommitPartial(t.commit)) continue;
    const chosen = await chooseDelta(repo, access, summary, t.commit, t.previous);
    if (!chosen) {
      if (o.requireStaticDeltas) throw noDeltaError(t.previous, t.commit);
      continue;
    }
    plan.chosen.push(chosen);
    for (const p of chosen.superblock.parts) {
      plan.summary.parts++;
      plan.summary.size += p.compressedSize;
      plan.summary.usize += p.uncompressedSize;
    }
    plan.summary.fallbacks += chosen.superblock.fallbacks.length;
  }
  return plan;
}

/**
 * Apply the planned deltas into the puller's transaction and publish them, so the tree walk
 * that follows sees their objects.
 * @throws ArborError OBJECT_CORRUPT, OBJECT_NOT_FOUND, NETWORK
 */
export async function applyPullDeltas(
  plan: DeltaPlan,
  puller: ObjectPuller,
  fetcher: Fetcher,
  signal?: AbortSignal,
): Promise<void> {
  if (plan.chosen.length === 0) return;
  const access = fetcherAccess(fetcher, signal);
  for (const c of plan.chosen) await applyChosenDelta(puller.transaction, access, c, { signal });
  await puller.flush();
}
