/**
 * pull-local's content copies on worker threads (object-workers.ts, pull-local-worker.ts), when
 * the caller asks for them (`PullLocalOptions.workers`).
 *
 * Copying between repositories of different modes (archive → bare-user above all) is, per
 * object: read, inflate, hash, write, set metadata. On the main thread with promises that is one
 * core and thousands of thread-pool round trips; ostree imports on a pool of threads. Here each
 * worker does the whole sequence synchronously for batches of objects, written straight into the
 * transaction's staging dir; the main thread only records what was staged. The checks are those
 * of the in-process path: every object is re-hashed against its name before it is staged (the
 * source is untrusted), `bareUserOnlyFiles` and the destination mode's rules apply, and objects
 * too large to hold in memory are left to the caller, which streams them.
 */
import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import type { Worker } from "node:worker_threads";
import { inflateRawSync } from "node:zlib";
import { isReg } from "../core/mode.js";
import { ArborError, type ErrorCode, fromSystemError, withContext } from "../errors.js";
import { type ArchiveParts, prefixFor, readWhole, splitArchive } from "./content-fast.js";
import { defaultWorkerCount, runOnWorkers, startWorkers } from "./object-workers.js";
import { readDataSync } from "./pull-local-source.js";
import { statFileObject } from "./read-object.js";
import type { Repo, RepoMode } from "./repo.js";
import { writeContentSync } from "./stage-content.js";
import type { Transaction } from "./transaction.js";

/** Below this many objects to copy, starting workers costs more than it saves. */
export const PARALLEL_MIN_OBJECTS = 256;

/** What a copy worker is started with. */
export interface CopyWorkerData {
  srcPath: string;
  dstMode: RepoMode;
  /** Objects at or above this data size are left to the main thread (it streams them). */
  streamThreshold: number;
  bareUserOnlyFiles: boolean;
}

/** One result: written (data bytes), left to the caller (-1), or an error's code, message and data. */
export type CopyResult = [string, number] | [string, string, string, Record<string, unknown> | undefined];

/** The code of a {@link CopyResult} carrying a Node system error (its errno name in `data.errno`). */
export const SYSTEM_ERROR = "SYSTEM";

/**
 * Copy one content object of `src` to staging path `path` in mode `d.dstMode`, after checking that
 * it hashes to `cs`. Returns the data bytes written, or -1 if it is too large to copy in memory.
 * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT, UNSUPPORTED, NO_SPACE, IO; Node system
 *   errors while reading.
 */
export function copyObject(src: Repo, d: CopyWorkerData, cs: string, path: string): number {
  const fast = src.archive ? readArchiveFast(src, cs) : null;
  const header = fast?.header ?? null;
  const obj = header ? null : statFileObject(src, cs);
  const h = header ?? obj!.header;
  if (d.bareUserOnlyFiles && isReg(h.mode)) {
    const bad = h.mode & 0o7777 & ~0o775;
    if (bad !== 0) {
      throw new ArborError(
        "UNSUPPORTED",
        `Content object ${cs}: invalid mode 0${h.mode.toString(8)} with bits 0${bad.toString(8)}`,
      );
    }
  }
  if ((fast?.size ?? obj!.size) >= d.streamThreshold) return -1;
  const data = fast ? inflateFast(fast) : null;
  const bytes = data ?? readDataSync(obj ?? statFileObject(src, cs));
  const actual = createHash("sha256").update(prefixFor(h)).update(bytes).digest("hex");
  if (actual !== cs) {
    throw new ArborError("OBJECT_CORRUPT", `Corrupted content object ${cs}: content hashes to ${actual}`);
  }
  try {
    writeContentSync(d.dstMode, path, h, bytes);
  } catch (e) {
    throw fromSystemError(`Cannot write content object ${cs}`, e);
  }
  return bytes.length;
}

/** Archive objects up to this stored size are read in one piece by {@link readArchiveFast}. */
const FAST_MAX = 4 * 1024 * 1024;

/**
 * A regular-file archive object read with one open and one read (content-fast.ts); null when it
 * is anything else or anything looks wrong: the general path (read-object.ts) then reads it and
 * words any error. The deflated data is valid until the thread's next read.
 */
function readArchiveFast(src: Repo, cs: string): ArchiveParts | null {
  let fd: number;
  try {
    fd = openSync(src.objectPath(cs, "file"), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    if (size > FAST_MAX) return null;
    const b = readWhole(fd, size);
    const parts = b && splitArchive(b);
    return parts && isReg(parts.header.mode) ? parts : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Inflate {@link readArchiveFast}'s data into one buffer of the declared size; null if it is not that. */
function inflateFast(p: ArchiveParts): Buffer | null {
  try {
    const out = inflateRawSync(p.deflated, {
      maxOutputLength: Math.max(p.size, 1),
      chunkSize: Math.max(p.size + 1, 64),
    });
    return out.length === p.size ? out : null;
  } catch {
    return null;
  }
}

/**
 * Start `n` copy workers (default: one per core, up to 4) for {@link copyContentParallel}; they
 * load while the caller goes on. Resolves with those that came up (none if `n` is 0).
 */
export function startCopyWorkers(data: CopyWorkerData, n = defaultWorkerCount()): Promise<Worker[]> {
  return n > 0 ? startWorkers("pull-local-worker", n, data) : Promise.resolve([]);
}

/** Options of {@link copyContentParallel}. */
export interface ParallelCopyOptions {
  /** Workers from {@link startCopyWorkers}, with the same source and destination. */
  workers: Promise<Worker[]>;
  src: Repo;
  tx: Transaction;
  /** Content objects to copy: distinct, and in neither the destination nor the transaction. */
  checksums: string[];
  /** Called for each object staged, with its data bytes. */
  onCopied?: (bytes: number) => void;
  signal?: AbortSignal;
}

/**
 * Copy content objects into the transaction on worker threads, then stop them. Returns the
 * checksums left for the caller (too large to copy in memory), or null, having copied nothing,
 * when no worker started.
 * On failure every worker has stopped before this throws (the caller may discard the staging dir).
 * @throws ArborError as {@link copyObject}, worded `Cannot pull content object CS from "SRC": …`;
 *   ABORTED; IO if a worker dies.
 */
export async function copyContentParallel(o: ParallelCopyOptions): Promise<string[] | null> {
  const pool = await o.workers;
  const items = o.checksums.map((cs): [string, string] => [cs, o.tx.contentStagingPath(cs)]);
  const left: string[] = [];
  const ran = await runOnWorkers<[string, string], CopyResult>(pool, items, {
    what: "copy",
    signal: o.signal,
    onResult: (r) => {
      const cs = r[0];
      if (r.length === 2) {
        if (r[1] < 0) left.push(cs);
        else {
          o.tx.addStagedContent(cs, r[1]);
          o.onCopied?.(r[1]);
        }
        return;
      }
      const [, code, message, errData] = r;
      const cause =
        code === SYSTEM_ERROR
          ? Object.assign(new Error(message), { code: errData?.errno })
          : new ArborError(code as ErrorCode, message, errData === undefined ? undefined : { data: errData });
      throw withContext(`Cannot pull content object ${cs} from "${o.src.path}"`, cause);
    },
  });
  return ran ? left : null;
}
