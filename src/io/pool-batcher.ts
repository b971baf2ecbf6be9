/**
 * Work items sent to libuv's thread pool in batches: one trip for the items a burst of work asks
 * for, instead of one trip each.
 *
 * Why: a pool trip wakes a pool thread, and on the reference machine (a 2-core VM) the woken
 * thread usually takes the CPU from the main thread there and then: `perf` showed the main
 * thread losing ~0.1 ms per object in `pthread_cond_signal` (pull-local of the Debian minbase
 * tree: ~0.75 s of 3 s), and the futex traffic of thousands of wake-ups on every thread. Items
 * asked for in the same turn of the event loop go out together when the turn ends
 * (`setImmediate`), or at once when MAX_ITEMS are waiting (or MAX_BYTES held), split in at most
 * one trip per pool thread of at least MIN_PER_TRIP items (so the kernel work still runs in
 * parallel: measured on commit and pull-local of the Debian minbase tree); each caller still gets
 * its own promise and its own outcome. (The addon's pool threads now also run in SCHED_BATCH, so
 * a woken one no longer preempts the main thread: native/arbor_native.c, `pool_thread_enter`;
 * batching still saves the wake-ups and completions.)
 */

/** How a {@link PoolBatcher} sends its items. */
export interface PoolBatchOps<I, R> {
  /**
   * Send many items in one trip: resolves with each item's outcome in order, an `Error` instance
   * for an item that failed (its caller's promise rejects with it), anything else its result.
   * Throws synchronously for bad arguments in any item: each item is then sent alone.
   */
  many(items: I[]): Promise<Array<R | Error>>;
  /** Send one item alone (a lone item, or each item of a batch `many` refused). */
  one(item: I): Promise<R>;
  /** Bytes an item holds until it is done (default 0): a batch holding many goes out early. */
  bytes?(item: I): number;
}

/** Items gathered before they go out without waiting for the turn to end. */
const MAX_ITEMS = 16;
/** Items per trip, at least (when there are that many). */
const MIN_PER_TRIP = 4;
/** Bytes gathered before they go out without waiting for the turn to end. */
const MAX_BYTES = 4 * 1024 * 1024;
/** libuv's pool threads (what `UV_THREADPOOL_SIZE` says, else libuv's default of 4). */
const POOL_THREADS = Math.max(1, Number(process.env.UV_THREADPOOL_SIZE) || 4);

type Waiter<R> = { resolve: (r: R) => void; reject: (e: unknown) => void };

export class PoolBatcher<I, R> {
  private items: I[] = [];
  private waiters: Array<Waiter<R>> = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly ops: PoolBatchOps<I, R>) {}

  /**
   * Do `item`, batched with the others asked for in this turn of the event loop.
   * @returns a promise settled with this item's own outcome.
   */
  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      this.bytes += this.ops.bytes?.(item) ?? 0;
      if (this.items.length >= MAX_ITEMS || this.bytes >= MAX_BYTES) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flushAtTurnEnd);
      }
    });
  }

  private readonly flushAtTurnEnd = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.bytes = 0;
    const trips = Math.min(Math.ceil(items.length / MIN_PER_TRIP), POOL_THREADS);
    for (let t = 0, start = 0; t < trips; t++) {
      const end = start + Math.ceil((items.length - start) / (trips - t));
      this.send(items.slice(start, end), waiters.slice(start, end));
      start = end;
    }
  }

  private send(items: I[], waiters: Array<Waiter<R>>): void {
    if (items.length === 1) {
      this.sendOne(items[0]!, waiters[0]!);
      return;
    }
    let done: Promise<Array<R | Error>>;
    try {
      done = this.ops.many(items);
    } catch {
      // bad arguments in some item: send each alone, so only that one fails
      for (let i = 0; i < items.length; i++) this.sendOne(items[i]!, waiters[i]!);
      return;
    }
    done.then(
      (results) => {
        waiters.forEach((w, i) => {
          const r = results[i] as R | Error;
          if (r instanceof Error) w.reject(r);
          else w.resolve(r);
        });
      },
      (e: unknown) => {
        for (const w of waiters) w.reject(e);
      },
    );
  }

  private sendOne(item: I, w: Waiter<R>): void {
    try {
      this.ops.one(item).then(w.resolve, w.reject);
    } catch (e) {
      w.reject(e);
    }
  }
}
