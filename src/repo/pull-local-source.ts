/**
 * Reading the source of a pull-local: object data read (and inflated) off the main thread with
 * sizes checked, which objects may be hard-linked and the inode check that makes a link safe, and
 * the summary copy of a mirror.
 */
import { lstatSync, readFileSync, type Stats, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { inflateRaw } from "node:zlib";
import { isLnk, isReg } from "../core/mode.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { corruptData, type FileObject, readFileDataSync } from "./read-object.js";
import type { Repo } from "./repo.js";

/** A source object as read, with the lstat taken before reading it. */
export interface SourceObject {
  bytes: Uint8Array;
  before: Stats;
}

/**
 * Whether objects of `src` may be hard-linked into `dst` at all, as ostree decides: both
 * repository directories owned by the same user (a link shares the inode, so its owner could
 * still change it), and for content the same storage format: equal modes, or bare-user into
 * bare-user-only (see {@link linkableContent}). Metadata is stored alike in every mode.
 * Different filesystems are found out by the link itself (EXDEV).
 */
export function linkPolicy(src: Repo, dst: Repo): { metadata: boolean; content: boolean } {
  if (src.path === dst.path || statSync(src.path).uid !== statSync(dst.path).uid)
    return { metadata: false, content: false };
  const content = src.mode === dst.mode || (src.mode === "bare-user" && dst.mode === "bare-user-only");
  return { metadata: true, content };
}

/**
 * Whether content object `obj` of `src` reads back as the same object once linked into `dst`
 * (given {@link linkPolicy} allows content links). Equal modes: always. bare-user into
 * bare-user-only (ostree's conversion for flatpak): regular files only (bare-user symlinks are
 * regular files holding the target), and only objects that are canonical there, owned by 0:0
 * without xattrs with the inode's mode as recorded; ostree links any regular file, which leaves a
 * corrupt object when it is not canonical: arbor copies those instead (the copy refuses what a
 * bare-user-only repository cannot hold).
 */
export function linkableContent(src: Repo, dst: Repo, obj: FileObject): boolean {
  if (src.mode === dst.mode) return true;
  const h = obj.header;
  if (!isReg(h.mode) || h.uid !== 0 || h.gid !== 0 || h.xattrs.length > 0) return false;
  return lstatSync(obj.path).mode === h.mode;
}

/**
 * A new hard link must be the very inode that was verified, unchanged since (same inode, size and
 * mtime): a file swapped in or rewritten between the check and the link is refused.
 */
export function sameFile(before: Stats, linked: string, what: string): void {
  const after = lstatSync(linked);
  if (after.ino !== before.ino || after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new ArborError("OBJECT_CORRUPT", `Object ${what} changed while being copied`);
  }
}

const inflate = promisify(inflateRaw);

/**
 * A small object's data, read (and inflated) on libuv's thread pool so that several reads overlap
 * with the hashing and writing on the main thread (small ones synchronously). Sizes are checked
 * as {@link readFileDataSync} does.
 */
export async function readData(obj: FileObject): Promise<Uint8Array> {
  if (isLnk(obj.header.mode)) return new Uint8Array(0);
  if (obj.size <= SYNC_LIMIT) return readFileDataSync(obj);
  const raw = await readFile(obj.path);
  if (!obj.compressed) {
    if (raw.length !== obj.size) throw corruptData(obj, `data is ${raw.length} bytes, expected ${obj.size}`);
    return raw;
  }
  let out: Buffer;
  try {
    // one output chunk (zlib's default, 16 KiB, is a thread-pool trip each)
    out = await inflate(raw.subarray(obj.dataOffset), {
      maxOutputLength: Math.max(obj.size, 1),
      chunkSize: Math.max(obj.size + 1, 64),
    });
  } catch (e) {
    throw corruptData(obj, `invalid compressed data: ${(e as Error).message}`);
  }
  if (out.length !== obj.size) throw corruptData(obj, `data is ${out.length} bytes, header says ${obj.size}`);
  return out;
}

/**
 * Objects up to this size are read and inflated synchronously: for most of a tree's files the
 * promise, FileHandle and zlib stream set up per object cost far more than the work itself.
 */
const SYNC_LIMIT = 256 * 1024;

/** Copy `summary` and `summary.sig` (a mirror pull of every ref); the signature first, as ostree orders them. */
export function copySummary(src: Repo, dst: Repo): void {
  for (const name of ["summary.sig", "summary"]) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(join(src.path, name));
    } catch (e) {
      if (errnoCode(e) === "ENOENT") continue;
      throw fromSystemError(`Cannot read ${name} of "${src.path}"`, e);
    }
    writeFileAtomicSync(join(dst.path, name), bytes, { mode: 0o644 });
  }
}
