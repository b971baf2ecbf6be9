/**
 * File-system calls that can block run on libuv's thread pool rather than on the main thread.
 *
 * Creating a file takes a journal handle on ext4 and writing may be throttled by dirty-page
 * writeback: either can block for milliseconds on a busy disk. Done synchronously, every such
 * stall stops the whole pipeline (hashing, inflating, the next reads); done here, several objects
 * are created at once, as ostree does with its worker threads.
 */
import { fs } from "./node-builtins.js";

function openAsync(path: string, mode: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(path, "w", mode, (e, fd) => (e ? reject(e) : resolve(fd)));
  });
}

function writeAsync(fd: number, b: Uint8Array, off: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.write(fd, b, off, b.length - off, null, (e, n) => (e ? reject(e) : resolve(n)));
  });
}

/**
 * Create (or truncate) `path` with `mode`, write all of `data`, run `finish(fd)` (fchmod, xattrs,
 * times: quick calls on the open file) and close it. The open and the writes run off the main
 * thread. The file is closed on every path; on failure it may be left partly written (callers
 * write into staging areas that are discarded on error).
 * @throws Node system errors (ENOSPC, EACCES…) or whatever `finish` throws.
 */
export async function createFileOffThread(
  path: string,
  data: Uint8Array,
  mode: number,
  finish?: (fd: number) => void,
): Promise<void> {
  const fd = await openAsync(path, mode);
  try {
    let off = 0;
    while (off < data.length) off += await writeAsync(fd, data, off);
    finish?.(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write all of `b` to the open `fd` (at its current offset) off the main thread: streamed large
 * objects, whose megabytes of writes into the page cache would otherwise hold up the main thread
 * (a Debian minbase pull: ~0.4 s of it).
 * @throws Node system errors (ENOSPC…).
 */
export async function writeAllOffThread(fd: number, b: Uint8Array): Promise<void> {
  let off = 0;
  while (off < b.length) off += await writeAsync(fd, b, off);
}

/** rename(2) off the main thread. @throws Node system errors. */
export function renameOffThread(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.rename(from, to, (e) => (e ? reject(e) : resolve()));
  });
}

/**
 * fsync(2) the file or directory at `path` (opened read-only, enough for both) off the main
 * thread: several in flight cost far less than one after another.
 * @throws Node system errors.
 */
export async function fsyncPathOffThread(path: string): Promise<void> {
  const fd = await new Promise<number>((resolve, reject) => {
    fs.open(path, "r", (e, n) => (e ? reject(e) : resolve(n)));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      fs.fsync(fd, (e) => (e ? reject(e) : resolve()));
    });
  } finally {
    fs.closeSync(fd);
  }
}
