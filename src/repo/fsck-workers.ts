/**
 * fsck's content verification on several cores (object-workers.ts): each worker opens the
 * repository itself and verifies batches of content checksums (fsck-worker.ts); verdicts come
 * back in batches and are handed to the caller, which may throw (fsck stops at the first
 * corruption). When no worker starts, the caller verifies in-process.
 */
import type { Worker } from "node:worker_threads";
import { ArborError, type ErrorCode } from "../errors.js";
import type { WorkerVerdict } from "./fsck-worker.js";
import { defaultWorkerCount, runOnWorkers, startWorkers, stopWorkers } from "./object-workers.js";

export { defaultWorkerCount };

/** Below this many content objects, starting workers costs more than it saves. */
export const PARALLEL_MIN_OBJECTS = 2000;

/** Start `n` verification workers; resolves with those that came up (maybe none). */
export function startVerifiers(repoPath: string, n: number): Promise<Worker[]> {
  return startWorkers("fsck-worker", n, { repoPath });
}

/** Stop workers started by {@link startVerifiers} and not handed to {@link verifyContentParallel}. */
export function stopVerifiers(pool: Worker[]): void {
  void stopWorkers(pool);
}

/**
 * Verify content objects on the given workers (from {@link startVerifiers}), calling `onResult`
 * once per checksum (null = valid), then stop the workers. Resolves false, having verified
 * nothing, if there are no workers.
 * @throws whatever `onResult` throws (after stopping the workers); ArborError ABORTED on `signal`;
 *   IO if a worker dies mid-run.
 */
export function verifyContentParallel(
  pool: Worker[],
  checksums: string[],
  o: { onResult: (checksum: string, problem: ArborError | null) => void; signal?: AbortSignal },
): Promise<boolean> {
  return runOnWorkers<string, WorkerVerdict>(pool, checksums, {
    what: "verification",
    signal: o.signal,
    onResult: (v) =>
      o.onResult(
        v[0],
        v.length === 1
          ? null
          : new ArborError(v[1] as ErrorCode, v[2], v[3] === undefined ? undefined : { data: v[3] }),
      ),
  });
}
