/**
 * The directory-on-disk side of diff.ts: listing in GLib's order, xattrs, data hashing. All
 * synchronous: a diff is a stream of small syscalls, which Node does fastest without the thread pool.
 */
import type { Hash } from "node:crypto";
import { closeSync, type Dir, lstatSync, opendirSync, openSync, readSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { Xattrs } from "../core/content-header.js";
import { errnoCode, fromSystemError } from "../errors.js";
import { native } from "../io/native.js";

/** GLib's local enumerator reads this many entries at a time and sorts each batch by inode. */
const GLIB_CHUNK = 1000;

/** One entry of a directory on disk, with its lstat. */
export interface DiskEntry {
  name: string;
  path: string;
  st: Stats;
}

/**
 * Entries of a directory in GLib's enumeration order (what `ostree diff` walks): readdir order,
 * each batch of 1000 sorted by inode number.
 * @throws ArborError NOT_FOUND, IO
 */
export function listDirOnDisk(path: string): DiskEntry[] {
  const out: DiskEntry[] = [];
  let chunk: DiskEntry[] = [];
  const flush = (): void => {
    chunk.sort((x, y) => x.st.ino - y.st.ino);
    for (const c of chunk) out.push(c);
    chunk = [];
  };
  let dir: Dir;
  try {
    dir = opendirSync(path, { bufferSize: 128 });
  } catch (e) {
    throw fromSystemError(`Cannot read directory "${path}"`, e);
  }
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      const p = join(path, d.name);
      const st = lstatSync(p);
      chunk.push({ name: d.name, path: p, st });
      if (chunk.length === GLIB_CHUNK) flush();
    }
    flush();
  } catch (e) {
    throw fromSystemError(`Cannot read directory "${path}"`, e);
  } finally {
    dir.closeSync();
  }
  return out;
}

/**
 * A file's xattrs sorted by name (none where the filesystem has no xattr support).
 * @throws ArborError IO
 */
export function readXattrsOnDisk(path: string): Xattrs {
  let names: string[];
  try {
    names = native().llistxattr(path);
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOTSUP" || c === "EOPNOTSUPP") return [];
    throw fromSystemError(`Cannot read extended attributes of "${path}"`, e);
  }
  const out: Xattrs = [];
  for (const n of names.sort()) {
    const v = native().lgetxattr(path, n);
    if (v) out.push([n, new Uint8Array(v)]);
  }
  return out;
}

let readBuf: Buffer | undefined;

/**
 * Feed a file's data to `hash` in chunks through one shared buffer (callers are synchronous) and
 * return the hex digest.
 * @throws ArborError NOT_FOUND, IO
 */
export function hashFileData(path: string, hash: Hash): string {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw fromSystemError(`Cannot read "${path}"`, e);
  }
  try {
    readBuf ??= Buffer.allocUnsafe(1 << 20);
    const buf = readBuf;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest("hex");
}
