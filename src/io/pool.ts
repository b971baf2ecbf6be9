/**
 * Bounded concurrency. Hashing, compression and fsync run on libuv's thread pool, so a few of
 * them in flight keep every core busy (and many fsyncs in flight cost far less than one after
 * another), while thousands in flight would only queue up and hold memory.
 *
 * Both helpers stop at the first error: nothing new starts, work already running is allowed to
 * finish (so no task outlives the call that started it, and temp files get cleaned up), then the
 * first error is thrown.
 */
import { ArborError } from "../errors.js";

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`Concurrency limit must be a positive integer, got ${limit}`);
  }
}

function abortError(signal: AbortSignal): ArborError {
  return new ArborError("ABORTED", "Operation aborted", { cause: signal.reason });
}

/**
 * Run `fn` over `items` with at most `limit` calls in flight; results come back in input order.
 * Items are pulled from the (possibly async, possibly lazy) iterable only when a slot is free.
 * @example const sizes = await mapLimit(paths, 4, async (p) => (await stat(p)).size);
 * @throws the first error `fn` or the iterable throws (after in-flight calls settle);
 *   ArborError `ABORTED` if `signal` aborts; RangeError for a bad `limit`.
 */
export async function mapLimit<T, R>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  checkLimit(limit);
  if (signal?.aborted) throw abortError(signal);
  const iterator: Iterator<T> | AsyncIterator<T> =
    Symbol.asyncIterator in items
      ? (items as AsyncIterable<T>)[Symbol.asyncIterator]()
      : (items as Iterable<T>)[Symbol.iterator]();
  const results: R[] = [];
  let nextIndex = 0;
  let failed = false;
  let firstError: unknown;
  let done = false;
  // Pulls are serialized: iterators are not required to support concurrent next() calls.
  let pulling: Promise<unknown> = Promise.resolve();

  const fail = (e: unknown): void => {
    if (!failed) {
      failed = true;
      firstError = e;
    }
  };
  const onAbort = (): void => fail(abortError(signal!));
  signal?.addEventListener("abort", onAbort, { once: true });

  const pull = (): Promise<{ item: T; index: number } | undefined> => {
    const p = pulling.then(async () => {
      if (done || failed) return undefined;
      const r = await iterator.next();
      if (r.done) {
        done = true;
        return undefined;
      }
      return { item: r.value, index: nextIndex++ };
    });
    pulling = p.catch(() => {});
    return p;
  };

  const worker = async (): Promise<void> => {
    while (!failed) {
      let next: { item: T; index: number } | undefined;
      try {
        next = await pull();
      } catch (e) {
        done = true;
        fail(e);
        return;
      }
      if (next === undefined || failed) return;
      try {
        results[next.index] = await fn(next.item, next.index);
      } catch (e) {
        fail(e);
      }
    }
  };

  try {
    // No point starting more workers than there are items, when we know how many there are.
    const workers = Array.isArray(items) ? Math.min(limit, items.length) : limit;
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Let a generator run its finally blocks when we stop early.
    if (!done) await Promise.resolve(iterator.return?.()).catch(() => {});
  }
  if (failed) throw firstError;
  return results;
}

/**
 * A pool for producer loops that discover work as they go (walking a tree, streaming a tar):
 * `await pool.run(task)` returns as soon as the task has *started*, waiting first if `limit`
 * tasks are already running, which gives natural backpressure; `await pool.drain()` waits for
 * everything and throws the first error.
 * @example
 * const pool = new Pool(4);
 * for await (const entry of walk(dir)) await pool.run(() => writeObject(entry));
 * await pool.drain();
 */
export class Pool {
  private readonly limit: number;
  private readonly signal: AbortSignal | undefined;
  private readonly running = new Set<Promise<void>>();
  private failed = false;
  private firstError: unknown;

  /**
   * @param limit maximum tasks in flight (a positive integer).
   * @param signal aborting it makes {@link Pool.run} and {@link Pool.drain} throw `ABORTED`.
   * @throws RangeError for a bad `limit`.
   */
  constructor(limit: number, signal?: AbortSignal) {
    checkLimit(limit);
    this.limit = limit;
    this.signal = signal;
  }

  /** Tasks currently running. */
  get active(): number {
    return this.running.size;
  }

  /**
   * Start `fn` once a slot is free. Resolves when it has started, not when it finishes.
   * @throws the first error of an earlier task (the pool stops accepting work after one fails);
   *   ArborError `ABORTED` if the signal aborted. Either is thrown only once every task already
   *   started has settled, so the caller can clean up (abort a transaction, remove a temp dir)
   *   without a task still writing behind its back.
   */
  async run(fn: () => Promise<unknown>): Promise<void> {
    for (;;) {
      if (this.stopped()) await this.settle();
      this.check();
      if (this.running.size < this.limit) break;
      await Promise.race(this.running);
    }
    const p: Promise<void> = Promise.resolve()
      .then(fn)
      .then(
        () => {},
        (e: unknown) => {
          if (!this.failed) {
            this.failed = true;
            this.firstError = e;
          }
        },
      )
      .finally(() => {
        this.running.delete(p);
      });
    this.running.add(p);
  }

  /**
   * Wait until every started task has finished.
   * @throws the first error any task threw; ArborError `ABORTED` if the signal aborted.
   */
  async drain(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** Wait until no task is running (tasks never reject: their errors are recorded). */
  private async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  private stopped(): boolean {
    return this.failed || this.signal?.aborted === true;
  }

  private check(): void {
    if (this.failed) throw this.firstError;
    if (this.signal?.aborted) throw abortError(this.signal);
  }
}

/**
 * A budget of bytes held at once (object data read into memory while it waits to be written):
 * {@link ByteBudget.take} waits, first come first served, until `n` bytes fit under the limit;
 * {@link ByteBudget.give} returns them. A request larger than the whole budget is let in alone,
 * so it cannot wait forever. Pairs with a {@link Pool}: the pool bounds how many tasks run, the
 * budget how much memory they hold, so many small objects can be in flight without many large
 * ones.
 * @example
 * await budget.take(size);
 * try { await copy(object); } finally { budget.give(size); }
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Array<{ n: number; admit: () => void }> = [];

  /** @throws RangeError for a limit that is not a positive integer. */
  constructor(private readonly limit: number) {
    checkLimit(limit);
  }

  /** Bytes currently taken. */
  get inUse(): number {
    return this.used;
  }

  /** Wait until `n` bytes fit (after everyone who asked earlier), then hold them. */
  async take(n: number): Promise<void> {
    if (this.waiting.length === 0 && this.fits(n)) {
      this.used += n;
      return;
    }
    await new Promise<void>((admit) => this.waiting.push({ n, admit }));
  }

  /** Return `n` bytes taken earlier, letting in whoever waits and now fits. */
  give(n: number): void {
    this.used -= n;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.n)) {
      const w = this.waiting.shift()!;
      this.used += w.n;
      w.admit();
    }
  }

  private fits(n: number): boolean {
    return this.used === 0 || this.used + n <= this.limit;
  }
}
