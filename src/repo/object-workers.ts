/**
 * Worker threads for per-object CPU work (fsck's verification).
 *
 * Hashing, inflating and compressing are CPU work that Node does on the thread that asks for it
 * (the synchronous zlib API) or bounces through libuv's pool in 16 KiB pieces (the asynchronous
 * one), so a Pool of promises cannot keep a second core busy over a tree of small files. Worker
 * threads can: each opens what it needs itself and handles batches of items it is sent, two
 * batches in flight per worker so none waits for the main thread. Results come back in batches
 * and are handed to the caller in arrival order; the caller may throw (stop at the first error),
 * which stops the run.
 *
 * Memory: each worker is a V8 isolate of its own (~10 MB), and garbage (the inflated data of each
 * object) is collected per isolate. Workers get a small young generation so that the Buffers
 * each object leaves behind are reclaimed by frequent cheap scavenges instead of accumulating
 * towards V8's external-memory limit (64 MB per isolate): peak memory stays flat however large
 * the tree.
 *
 * Workers are an optimisation only: when they cannot start (no worker support, sources run
 * without a TypeScript loader, an addon that will not load) the caller does the work in-process.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { ArborError } from "../errors.js";

/** Items per message: large enough to amortise a message, small enough to balance the workers. */
const BATCH = 32;

/** Young generation of a worker (MB): see the file comment. */
const YOUNG_GENERATION_MB = 1;

/** Workers worth starting on this machine (0: work in-process). */
export function defaultWorkerCount(): number {
  const cores = availableParallelism();
  return cores < 2 ? 0 : Math.min(cores, 4);
}

/**
 * Start one worker running `module` (a sibling of this file, without extension) with
 * `workerData`; resolves null if it does not come up. The worker posts "ready" once loaded.
 */
function startWorker(module: string, workerData: unknown): Promise<Worker | null> {
  const here = import.meta.url;
  const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
  return new Promise((resolve) => {
    let w: Worker;
    try {
      if (here.endsWith(".ts")) {
        // Running from sources (tests, tsx): loader hooks do not reach worker threads, so the
        // worker registers tsx itself; if it cannot, the caller works in-process.
        const src = new URL(`./${module}.ts`, here).href;
        const boot = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(src)}); })`;
        w = new Worker(boot, { eval: true, workerData, resourceLimits });
      } else w = new Worker(new URL(`./${module}.js`, here), { workerData, resourceLimits });
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

/** Start `n` workers running `module`; resolves with those that came up (maybe none). */
export async function startWorkers(module: string, n: number, workerData: unknown): Promise<Worker[]> {
  const started = await Promise.all(Array.from({ length: n }, () => startWorker(module, workerData)));
  return started.filter((w): w is Worker => w !== null);
}

/** Stop workers, resolving once every one has exited (so none still touches files). */
export async function stopWorkers(pool: Worker[]): Promise<void> {
  await Promise.all(pool.map((w) => w.terminate().catch(() => 0)));
}

/**
 * Send `items` to the workers in batches and call `onResult` for each result they send back (one
 * per item, in any order), then stop the workers (awaiting their exit). Resolves false, having
 * done nothing, if there are no workers.
 * @throws whatever `onResult` throws (after stopping the workers); ArborError ABORTED on `signal`;
 *   IO if a worker dies mid-run.
 */
export async function runOnWorkers<T, R>(
  pool: Worker[],
  items: T[],
  o: { onResult: (result: R) => void; signal?: AbortSignal; what: string },
): Promise<boolean> {
  if (pool.length === 0) return false;
  let next = 0;
  let pending = items.length;
  let abort: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      if (pending === 0) {
        resolve();
        return;
      }
      const feed = (w: Worker): void => {
        if (next >= items.length) return;
        w.postMessage(items.slice(next, next + BATCH));
        next += BATCH;
      };
      abort = (): void => reject(new ArborError("ABORTED", "Operation aborted", { cause: o.signal?.reason }));
      if (o.signal?.aborted) return abort();
      o.signal?.addEventListener("abort", abort, { once: true });
      for (const w of pool) {
        w.on("message", (batch: R[]) => {
          try {
            for (const r of batch) {
              pending--;
              o.onResult(r);
            }
          } catch (e) {
            reject(e);
            return;
          }
          if (pending === 0) resolve();
          else feed(w);
        });
        w.on("error", (e) =>
          reject(new ArborError("IO", `A ${o.what} worker failed: ${e.message}`, { cause: e })),
        );
        w.on("exit", (code) => {
          if (pending > 0) reject(new ArborError("IO", `A ${o.what} worker exited (${code}) with work left`));
        });
        feed(w);
        feed(w);
      }
    });
  } finally {
    if (abort) o.signal?.removeEventListener("abort", abort);
    for (const w of pool) w.removeAllListeners("exit");
    await stopWorkers(pool);
  }
  return true;
}
