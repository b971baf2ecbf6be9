/**
 * File-level helpers for drift: hashing a file under a content header, reading and comparing
 * xattrs, and verifying many repository objects at once (on worker threads when there are
 * enough of them, the way `arbor fsck` does; see repo/fsck-workers.ts).
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import type { Xattrs } from "../core/content-header.js";
import { native } from "../io/native.js";
import { fsckContentObject } from "../repo/fsck-object.js";
import {
  defaultWorkerCount,
  PARALLEL_MIN_OBJECTS,
  startVerifiers,
  stopVerifiers,
  verifyContentParallel,
} from "../repo/fsck-workers.js";
import type { Repo } from "../repo/repo.js";

let buf: Buffer | undefined;

/**
 * Feed a file's data to `h` and return its hex digest; `size` (from lstat) lets a small file take
 * one read instead of two.
 * @throws Node system errors (ENOENT…) from open/read
 */
export function hashInto(path: string, h: ReturnType<typeof createHash>, size = -1): string {
  const fd = openSync(path, "r");
  try {
    buf ??= Buffer.allocUnsafe(1 << 20);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      total += n;
      if (total === size && size < buf.length) break; // whole file read; skip the EOF read
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** SHA-256 of a file's data alone (for /etc comparisons). @throws Node system errors */
export function dataChecksum(path: string): string {
  return hashInto(path, createHash("sha256"));
}

/** Extended attributes of a path, sorted, empty values dropped as OSTree does (none where unsupported). */
export function readXattrs(path: string): Xattrs {
  let names: string[];
  try {
    names = native().llistxattr(path);
  } catch {
    return [];
  }
  if (names.length === 0) return [];
  const out: Xattrs = [];
  for (const n of names.sort()) {
    const v = native().lgetxattr(path, n);
    if (v && v.length > 0) out.push([n, new Uint8Array(v)]);
  }
  return out;
}

/** Equal xattr lists. */
export function sameXattrs(a: Xattrs, b: Xattrs): boolean {
  return a.length === b.length && a.every(([n, v], i) => n === b[i]![0] && Buffer.compare(v, b[i]![1]) === 0);
}

/**
 * Content verification of many repository objects (each once): collected during a walk, with the
 * worker threads started as soon as there are enough objects for them to pay off (they take a
 * moment to come up, which the rest of the walk hides).
 */
export class ObjectVerifier {
  private readonly checksums = new Set<string>();
  private workers: ReturnType<typeof startVerifiers> | null = null;

  constructor(private readonly repo: Repo) {}

  /** Queue an object for verification. */
  add(checksum: string): void {
    this.checksums.add(checksum);
    if (this.workers === null && this.checksums.size >= PARALLEL_MIN_OBJECTS) {
      const n = defaultWorkerCount();
      if (n > 0) this.workers = startVerifiers(this.repo.path, n);
    }
  }

  /**
   * Verify the queued objects; `onBad` is called for each one whose content no longer matches its
   * name (or that cannot be read back).
   * @throws ArborError ABORTED, IO (a worker died)
   */
  async verify(onBad: (checksum: string) => void, signal?: AbortSignal): Promise<void> {
    const all = [...this.checksums];
    const pool = this.workers ? await this.workers : [];
    this.workers = null;
    const done = await verifyContentParallel(pool, all, {
      onResult: (cs, problem) => {
        if (problem) onBad(cs);
      },
      ...(signal ? { signal } : {}),
    });
    if (done) return;
    for (const cs of all) {
      signal?.throwIfAborted();
      try {
        await fsckContentObject(this.repo, cs);
      } catch {
        onBad(cs);
      }
    }
  }

  /** Stop workers that were started but not used (an error path). */
  async close(): Promise<void> {
    const w = this.workers;
    this.workers = null;
    if (w) stopVerifiers(await w);
  }
}
