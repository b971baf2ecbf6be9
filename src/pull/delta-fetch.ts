/**
 * Applying a chosen static delta during a pull: parts come from the superblock (inline) or are
 * fetched as `deltas/…/N`; each is checked against the SHA-256 in the superblock before it is
 * decompressed, and every object it rebuilds is verified before it is staged (src/delta/).
 * Fallback objects are not fetched here: the pull's ordinary tree walk finds them missing and
 * fetches them loose.
 */
import { type ApplyStats, applyDeltaParts } from "../delta/apply.js";
import { ArborError } from "../errors.js";
import { deltaDir, deltaName } from "../repo/delta-naming.js";
import type { Transaction } from "../repo/transaction.js";
import type { ChosenDelta, DeltaAccess } from "./delta-choice.js";

/**
 * Execute every part of `chosen` into `tx` (the commit itself is left to the caller).
 * @throws ArborError NOT_FOUND (a part is missing), OBJECT_CORRUPT, NETWORK
 */
export async function applyChosenDelta(
  tx: Transaction,
  access: DeltaAccess,
  chosen: ChosenDelta,
  o: { signal?: AbortSignal } = {},
): Promise<ApplyStats> {
  const sb = chosen.superblock;
  return applyDeltaParts(
    tx,
    sb,
    async (i) => {
      const file = await access(`${deltaDir(chosen.delta)}/${i}`, sb.parts[i]!.compressedSize);
      if (!file)
        throw new ArborError(
          "NOT_FOUND",
          `Cannot fetch static delta ${deltaName(chosen.delta)}: part ${i} not found`,
        );
      return file;
    },
    { signal: o.signal },
  );
}
