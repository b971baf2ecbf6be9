/**
 * Content verification on several cores.
 *
 * Hashing (and inflating) content is CPU work that Node does on the main thread, so a Pool of
 * promises cannot use a second core for a tree of small files. Worker threads can: each opens the
 * repository itself and verifies batches of checksums it is sent, two batches in flight per
 * worker so none waits for the main thread. Results come back in batches and are handed to the
 * caller in arrival order; the caller may throw (fsck stops at the first corruption), which
 * terminates the workers.
 *
 * Workers are an optimisation only: when they cannot start (no worker support, sources run
 * without a TypeScript loader, an addon that will not load) the caller verifies in-process.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ArborError, type ErrorCode } from "../errors.js";
import type { WorkerVerdict } from "./fsck-worker.js";

/** Below this many content objects, starting workers costs more than it saves. */
export const PARALLEL_MIN_OBJECTS = 2000;

const BATCH = 64;

/** Workers worth starting on this machine (0: verify in-process). */
export function defaultWorkerCount(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, 4);
}

function startWorker(repoPath: string): Promise<Worker | null> {
  const here = import.meta.url;
  return new Promise((resolve) => {
    let w: Worker;
    try {
      if (here.endsWith(".ts")) {
        // Running from sources (tests, tsx): loader hooks do not reach worker threads, so the
        // worker registers tsx itself; if it cannot, the caller verifies in-process.
        const src = new URL("./fsck-worker.ts", here).href;
        const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(src)}); })`;
        w = new Worker(boot, { eval: true, workerData: { repoPath } });
      } else w = new Worker(new URL("./fsck-worker.js", here), { workerData: { repoPath } });
    } catch {
      resolve(null);
      return;
    }
    const fail = (): void => {
      void w.terminate();
      resolve(null);
    };
    w.once("error", fail);
    w.once("exit", fail);
    w.once("message", (m) => {
      w.off("error", fail);
      w.off("exit", fail);
      resolve(m === "ready" ? w : null);
    });
  });
}

/** Start `n` verification workers; resolves with those that came up (maybe none). */
export async function startVerifiers(repoPath: string, n: number): Promise<Worker[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startWorker(repoPath)));
  return started.filter((w): w is Worker => w !== null);
}

/** Stop workers started by {@link startVerifiers} and not handed to {@link verifyContentParallel}. */
export function stopVerifiers(pool: Worker[]): void {
  for (const w of pool) void w.terminate();
}

/**
 * Verify content objects on the given workers (from {@link startVerifiers}), calling `onResult`
 * once per checksum (null = valid), then stop the workers. Resolves false, having verified
 * nothing, if there are no workers.
 * @throws whatever `onResult` throws (after stopping the workers); ArborError ABORTED on `signal`;
 *   IO if a worker dies mid-run.
 */
export async function verifyContentParallel(
  pool: Worker[],
  checksums: string[],
  o: { onResult: (checksum: string, problem: ArborError | null) => void; signal?: AbortSignal },
): Promise<boolean> {
  if (pool.length === 0) return false;
  let next = 0;
  let pending = checksums.length;
  let abort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      if (pending === 0) {
        resolve();
        return;
      }
      const feed = (w: Worker): void => {
        if (next >= checksums.length) return;
        w.postMessage(checksums.slice(next, next + BATCH));
        next += BATCH;
      };
      abort = (): void => reject(new ArborError("ABORTED", "Operation aborted", { cause: o.signal?.reason }));
      if (o.signal?.aborted) return abort();
      o.signal?.addEventListener("abort", abort, { once: true });
      for (const w of pool) {
        w.on("message", (batch: WorkerVerdict[]) => {
          try {
            for (const v of batch) {
              pending--;
              o.onResult(
                v[0],
                v.length === 1
                  ? null
                  : new ArborError(v[1] as ErrorCode, v[2], v[3] === undefined ? undefined : { data: v[3] }),
              );
            }
          } catch (e) {
            reject(e);
            return;
          }
          if (pending === 0) resolve();
          else feed(w);
        });
        w.on("error", (e) =>
          reject(new ArborError("IO", `A verification worker failed: ${e.message}`, { cause: e })),
        );
        w.on("exit", (code) => {
          if (pending > 0)
            reject(new ArborError("IO", `A verification worker exited (${code}) with work left`));
        });
        feed(w);
        feed(w);
      }
    });
  } finally {
    if (abort) o.signal?.removeEventListener("abort", abort);
    for (const w of pool) {
      w.removeAllListeners("exit");
      void w.terminate();
    }
  }
  return true;
}
