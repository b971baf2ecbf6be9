/**
 * The per-file syscalls of a drift walk, on a second core: for each image file, lstat the deployed
 * file and its repository object and send back only what decides the common case (type, inode
 * identity, mtime). The walk (dirtrees, readdir) stays on the main thread and the two overlap.
 *
 * The worker is a few lines of plain JavaScript evaluated in place (no module graph to load, so
 * it is up in a few milliseconds) and is started only once a walk has a full batch, so small
 * trees never pay for it. If it cannot start or dies, the pending batches are stat'ed in-process:
 * the worker can only make drift faster, never change a verdict.
 */
import { lstatSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { ArborError } from "../errors.js";

/** Fields per file in a result: file dev, ino, mode, mtimeMs; object dev, ino (-1: absent; -2: error). */
export const FIELDS = 6;

/** Files per message. */
const BATCH = 512;

const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { lstatSync } = require("node:fs");
const put = (out, i, p, withMeta) => {
  let st;
  try { st = lstatSync(p, { throwIfNoEntry: false }); } catch { out[i] = -2; return; }
  if (!st) { out[i] = -1; return; }
  out[i] = st.dev; out[i + 1] = st.ino;
  if (withMeta) { out[i + 2] = st.mode; out[i + 3] = st.mtimeMs; }
};
parentPort.on("message", ({ id, paths }) => {
  const n = paths.length / 2;
  const out = new Float64Array(n * ${FIELDS});
  for (let k = 0; k < n; k++) {
    put(out, k * ${FIELDS}, paths[2 * k], true);
    put(out, k * ${FIELDS} + 4, paths[2 * k + 1], false);
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
`;

/** lstat one pair in-process into `out` at `i` (the worker's code, for fallbacks and small trees). */
function statPairInto(out: Float64Array, i: number, file: string, object: string): void {
  for (const [p, at, meta] of [
    [file, i, true],
    [object, i + 4, false],
  ] as const) {
    let st: ReturnType<typeof lstatSync>;
    try {
      st = lstatSync(p, { throwIfNoEntry: false });
    } catch {
      out[at] = -2;
      continue;
    }
    if (!st) {
      out[at] = -1;
      continue;
    }
    out[at] = st.dev;
    out[at + 1] = st.ino;
    if (meta) {
      out[at + 2] = st.mode;
      out[at + 3] = st.mtimeMs;
    }
  }
}

/**
 * Batches (file, object) lstat pairs; `onBatch` receives each batch's tags and results in order
 * of completion. Call {@link StatPairs.drain} once after the last {@link StatPairs.add}.
 */
export class StatPairs<T> {
  private tags: T[] = [];
  private paths: string[] = [];
  private worker: Worker | null = null;
  private workerFailed = false;
  private readonly pending = new Map<number, { tags: T[]; paths: string[] }>();
  private nextId = 0;
  private settle: (() => void) | null = null;
  private failure: unknown = null;
  /** Batches the worker answered (the rest ran in-process). */
  workerBatches = 0;

  constructor(private readonly onBatch: (tags: T[], out: Float64Array) => void) {}

  /** Queue the lstat of `file` and of `object` for `tag`. */
  add(tag: T, file: string, object: string): void {
    this.tags.push(tag);
    this.paths.push(file, object);
    if (this.tags.length >= BATCH) this.flush();
  }

  /** Send the current batch; the last, partial one runs in-process unless the worker is up. */
  private flush(last = false): void {
    if (this.tags.length === 0) return;
    const batch = { tags: this.tags, paths: this.paths };
    this.tags = [];
    this.paths = [];
    const w = last ? this.worker : this.startWorker();
    if (!w) {
      this.runInline(batch);
      return;
    }
    const id = this.nextId++;
    this.pending.set(id, batch);
    w.postMessage({ id, paths: batch.paths });
  }

  private startWorker(): Worker | null {
    if (this.worker || this.workerFailed) return this.worker;
    try {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on("message", (m: { id: number; out: Float64Array }) => {
        const b = this.pending.get(m.id);
        if (!b) return;
        this.pending.delete(m.id);
        this.workerBatches++;
        this.deliver(b.tags, m.out);
      });
      const lost = (): void => {
        this.workerFailed = true;
        this.worker = null;
        for (const [id, b] of this.pending) {
          this.pending.delete(id);
          this.runInline(b);
        }
      };
      w.on("error", lost);
      w.on("exit", lost);
      this.worker = w;
    } catch {
      this.workerFailed = true;
    }
    return this.worker;
  }

  private runInline(b: { tags: T[]; paths: string[] }): void {
    const out = new Float64Array(b.tags.length * FIELDS);
    for (let k = 0; k < b.tags.length; k++)
      statPairInto(out, k * FIELDS, b.paths[2 * k]!, b.paths[2 * k + 1]!);
    this.deliver(b.tags, out);
  }

  private deliver(tags: T[], out: Float64Array): void {
    try {
      if (this.failure === null) this.onBatch(tags, out);
    } catch (e) {
      this.failure = e;
    }
    if (this.pending.size === 0 && this.settle) this.settle();
  }

  /**
   * Wait for every queued pair, then stop the worker.
   * @throws the first error `onBatch` threw; ArborError ABORTED on `signal`
   */
  async drain(signal?: AbortSignal): Promise<void> {
    this.flush(true);
    try {
      if (this.pending.size > 0) {
        await new Promise<void>((resolve, reject) => {
          this.settle = resolve;
          signal?.addEventListener(
            "abort",
            () => reject(new ArborError("ABORTED", "Operation aborted", { cause: signal.reason })),
            { once: true },
          );
        });
      }
    } finally {
      this.close();
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Stop the worker (pending results are dropped). */
  close(): void {
    const w = this.worker;
    this.worker = null;
    this.workerFailed = true;
    if (w) {
      w.removeAllListeners("exit");
      w.removeAllListeners("error");
      void w.terminate();
    }
  }
}
