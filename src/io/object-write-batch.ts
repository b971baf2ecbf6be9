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
 * once when a batch is full; each caller still gets its own promise and its own error.
 */
import type { NativeAddon, ObjectFileWrite } from "./native.js";

/** Files per trip: enough to amortize the wake-up, few enough that two threads share a burst. */
const MAX_ITEMS = 16;
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
    if (items.length === 0) return;
    this.items = [];
    this.waiters = [];
    this.bytes = 0;
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
