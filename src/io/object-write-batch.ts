/**
 * Object files written in batches: one trip to libuv's thread pool for the files a burst of work
 * asks for, instead of one trip each.
 *
 * Why: a pool trip wakes a pool thread, and on the reference machine (a 2-core VM) the woken
 * thread usually takes the CPU from the main thread there and then: `perf` showed the main
 * thread losing ~0.1 ms per object in `pthread_cond_signal` (pull-local of the Debian minbase
 * tree: ~0.75 s of 3 s), and the futex traffic of thousands of wake-ups (~10 futex calls per
 * object) on every thread. Writes asked for in the same turn of the event loop (a pull's or a
 * commit's several objects in flight) go out together when the turn ends (`setImmediate`), or at
 * once when MAX_ITEMS are waiting, split in at most one trip per pool thread (so files are still
 * created in parallel; measured on commit and pull-local of the Debian minbase tree); each caller
 * still gets its own promise and its own error.
 */
import type { NativeAddon, ObjectFileWrite } from "./native.js";

/** Files gathered before they go out without waiting for the turn to end. */
const MAX_ITEMS = 16;
/** Files per trip, at least (when there are that many). */
const MIN_PER_TRIP = 4;
/** libuv's pool threads (what `UV_THREADPOOL_SIZE` says, else libuv's default of 4). */
const POOL_THREADS = Math.max(1, Number(process.env.UV_THREADPOOL_SIZE) || 4);
/** Bytes per trip: a batch of large files goes out early (its data is held until written). */
const MAX_BYTES = 4 * 1024 * 1024;

type Waiter = { resolve: () => void; reject: (e: unknown) => void };
type Addon = Required<Pick<NativeAddon, "writeObjectFile" | "writeObjectFiles">>;

export class ObjectWriteBatcher {
  private items: ObjectFileWrite[] = [];
  private waiters: Waiter[] = [];
  private bytes = 0;
  private scheduled = false;

  constructor(private readonly addon: Addon) {}

  /**
   * Write one object file as `writeObjectFile` does (same arguments), batched with the others
   * asked for in this turn of the event loop.
   * @returns a promise settled when this file is written; rejected with its own error (a Node
   *   system error, or TypeError/RangeError for bad arguments).
   */
  write(...item: ObjectFileWrite): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      this.bytes += item[1].length;
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
    // at most one trip per pool thread, of at least MIN_PER_TRIP files: the files are still
    // created in parallel (a commit's time is mostly the kernel making inodes: one thread doing
    // all 16 made commit → bare-user of the Debian minbase tree 10% slower), with a few wake-ups
    // per burst instead of one per file
    const trips = Math.min(Math.ceil(items.length / MIN_PER_TRIP), POOL_THREADS);
    for (let t = 0, start = 0; t < trips; t++) {
      const end = start + Math.ceil((items.length - start) / (trips - t));
      this.send(items.slice(start, end), waiters.slice(start, end));
      start = end;
    }
  }

  private send(items: ObjectFileWrite[], waiters: Waiter[]): void {
    if (items.length === 1) {
      this.writeOne(items[0]!, waiters[0]!);
      return;
    }
    let done: Promise<Array<Error | undefined>>;
    try {
      done = this.addon.writeObjectFiles(items);
    } catch {
      // bad arguments in some item: write each alone, so only that one fails
      for (let i = 0; i < items.length; i++) this.writeOne(items[i]!, waiters[i]!);
      return;
    }
    done.then(
      (results) => {
        waiters.forEach((w, i) => {
          const e = results[i];
          if (e === undefined) w.resolve();
          else w.reject(e);
        });
      },
      (e: unknown) => {
        for (const w of waiters) w.reject(e);
      },
    );
  }

  private writeOne(item: ObjectFileWrite, w: Waiter): void {
    try {
      this.addon.writeObjectFile(...item).then(w.resolve, w.reject);
    } catch (e) {
      w.reject(e);
    }
  }
}
