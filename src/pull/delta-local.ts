/**
 * `pull-local --require-static-deltas`: like ostree (which pulls a local repository through its
 * file:// code path when deltas are required), the deltas the source publishes — found through
 * its summary and delta indexes, chosen as delta-choice.ts explains — are applied first; the
 * ordinary pull-local then copies the commit and whatever the deltas did not carry (fallbacks),
 * verifying the whole tree as usual.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { readRef } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { decodeSummary, type Summary } from "../repo/summary.js";
import { Transaction } from "../repo/transaction.js";
import { chooseDelta, type DeltaAccess, noDeltaError } from "./delta-choice.js";
import { applyChosenDelta } from "./delta-fetch.js";
import { MAX_FETCHED_METADATA_SIZE } from "./objects.js";

/** The file at `p`, or null when it does not exist. @throws ArborError OBJECT_CORRUPT (over `maxBytes`), IO */
function readMaybe(p: string, maxBytes: number): Uint8Array | null {
  let size: number;
  try {
    size = statSync(p).size;
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return null;
    throw fromSystemError(`Cannot read "${p}"`, e);
  }
  if (size > maxBytes)
    throw new ArborError(
      "OBJECT_CORRUPT",
      `File "${p}" is ${size} bytes, more than the ${maxBytes} it may hold`,
    );
  try {
    return readFileSync(p);
  } catch (e) {
    throw fromSystemError(`Cannot read "${p}"`, e);
  }
}

/**
 * Apply the source's static deltas to each wanted commit the destination lacks.
 * @throws ArborError UNSUPPORTED (archive destination), NOT_FOUND `Static deltas required, but
 *   none found for FROM to TO`, OBJECT_CORRUPT
 */
export async function applyLocalDeltas(
  src: Repo,
  dst: Repo,
  refs: string[] | undefined,
  o: { remote?: string; signal?: AbortSignal } = {},
): Promise<number> {
  if (dst.archive) throw new ArborError("UNSUPPORTED", "Can't use static deltas in an archive repo");
  const sumBytes = readMaybe(join(src.path, "summary"), MAX_FETCHED_METADATA_SIZE);
  const summary: Summary | null = sumBytes ? decodeSummary(sumBytes) : null;
  const access: DeltaAccess = async (p, maxBytes) => readMaybe(join(src.path, p), maxBytes);
  const targets: Array<{ ref: string | null; commit: string }> = [];
  if (refs?.length) {
    for (const r of refs) {
      if (isChecksum(r)) targets.push({ ref: null, commit: r });
      else {
        const cs = readRef(src, r);
        if (cs === null) throw new ArborError("NOT_FOUND", `Refspec '${r}' not found in "${src.path}"`);
        targets.push({ ref: r, commit: cs });
      }
    }
  } else {
    const { listRefs } = await import("../repo/refs.js");
    for (const e of listRefs(src, { kind: "heads" })) targets.push({ ref: e.ref, commit: e.checksum });
  }
  let applied = 0;
  for (const t of targets) {
    if (dst.hasObject("commit", t.commit) && !dst.isCommitPartial(t.commit)) continue;
    const localFrom = t.ref ? readRef(dst, t.ref, o.remote ?? null) : null;
    const chosen = await chooseDelta(dst, access, summary, t.commit, localFrom);
    if (!chosen) throw noDeltaError(localFrom, t.commit);
    const tx = await Transaction.begin(dst, { signal: o.signal });
    try {
      await applyChosenDelta(tx, access, chosen, { signal: o.signal });
      await tx.commit();
    } catch (e) {
      await tx.abort();
      throw e;
    }
    applied++;
  }
  return applied;
}
