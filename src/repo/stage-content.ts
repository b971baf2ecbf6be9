/**
 * The on-disk form of a bare-mode content object, written synchronously at a staging path by the
 * Transaction (fact sheet §3.3, §3.4):
 *
 *  - bare-user: a regular file (symlinks hold "target\0"), owner/mode/xattrs in `user.ostreemeta`,
 *    on-disk mode limited to safe bits and always owner-readable;
 *  - bare-user-only: regular file or real symlink, no owner or xattrs (refused otherwise);
 *  - bare: the real owner, mode and xattrs.
 * Files are created 0600 and given their final mode only once complete, and their mtime is 0, as
 * ostree does for bare modes.
 */
import {
  closeSync,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  lutimesSync,
  openSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { basename } from "node:path";
import { inflateRawSync } from "node:zlib";
import { checksumMismatch, corruptContent } from "../core/checksum.js";
import { encodeUserMeta, type FileHeader } from "../core/content-header.js";
import { isLnk } from "../core/mode.js";
import { ArborError } from "../errors.js";
import { hasNative, native, type ObjectUnpack } from "../io/native.js";
import { ObjectWriteBatcher } from "../io/object-write-batch.js";
import { createFileOffThread } from "../io/off-thread.js";
import { perOwnerAndMode } from "./content-fast.js";
import type { RepoMode } from "./repo.js";

/** Write all of `b` to `fd`. */
export function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** How a bare-mode object file stores its metadata: its on-disk mode, owner (-1: left as made) and xattrs. */
interface BareFileMetadata {
  mode: number;
  uid: number;
  gid: number;
  xattrs: Array<[string, Uint8Array]>;
}

/**
 * The on-disk metadata of a bare-mode regular-file object (or bare-user symlink file), as each
 * mode stores it: bare-user keeps the real metadata in `user.ostreemeta` and only safe bits,
 * always owner-readable, in the file's mode; bare-user-only the mode alone; bare everything.
 */
function bareFileMetadata(mode: RepoMode, h: FileHeader): BareFileMetadata {
  if (mode === "bare-user") {
    const onDisk = isLnk(h.mode) ? 0o644 : (h.mode & 0o775) | 0o400;
    return { mode: onDisk, uid: -1, gid: -1, xattrs: [["user.ostreemeta", userMetaFor(h)]] };
  }
  if (mode === "bare-user-only") return { mode: h.mode & 0o7777, uid: -1, gid: -1, xattrs: [] };
  return { mode: h.mode & 0o7777, uid: h.uid, gid: h.gid, xattrs: h.xattrs };
}

/** {@link encodeUserMeta}, cached for plain headers (a pull or commit stores thousands alike). */
const userMetaFor = perOwnerAndMode(encodeUserMeta);

/**
 * Set a bare-mode object's metadata through its open descriptor (regular files, and bare-user
 * symlink files): {@link bareFileMetadata} (owner first: chown clears setuid/setgid), mtime 0.
 * @throws Node system errors (EPERM, ENOTSUP…).
 */
export function setBareMetadata(mode: RepoMode, fd: number, h: FileHeader): void {
  const m = bareFileMetadata(mode, h);
  if (m.uid >= 0) fchownSync(fd, m.uid, m.gid);
  fchmodSync(fd, m.mode);
  for (const [k, v] of m.xattrs) native().fsetxattr(fd, k, v);
  futimesSync(fd, 0, 0);
}

/**
 * Write a bare-mode object stored as a regular file (a regular file, or a bare-user symlink's
 * "target\0" body as `data`) at `p` off the main thread, batched with other writes (the addon's
 * `writeObjectFile`: create, write, then {@link bareFileMetadata} and mtime 0, close). With
 * `unpack`, `data` is a raw-deflate body inflated (and checked) on the pool first
 * ({@link ObjectUnpack}). Returns null when the addon lacks the function (an addon built before
 * it): the caller then writes through Node's fs.
 * @throws ArborError UNSUPPORTED (bare-user-only); the promise rejects with Node system errors,
 *   or the addon's ERR_ARBOR_INFLATE / ERR_ARBOR_CHECKSUM errors for a refused `unpack` body.
 */
export function writeBareFileNative(
  mode: RepoMode,
  p: string,
  h: FileHeader,
  data: Uint8Array | readonly Uint8Array[],
  unpack?: ObjectUnpack,
): Promise<void> | null {
  const write = nativeWriter();
  if (!write) return null;
  if (mode === "bare-user-only") checkBareUserOnly(p, h);
  const m = bareFileMetadata(mode, h);
  const xattrs = m.xattrs.length === 1 ? m.xattrs[0]! : m.xattrs.flat();
  // the addon refuses this too, but only when the batch goes out, failing every write in it
  if (!unpack && Array.isArray(data)) throw new TypeError("data in chunks goes with unpack only");
  return unpack
    ? write(p, data, m.mode, m.uid, m.gid, xattrs, true, unpack)
    : write(p, data, m.mode, m.uid, m.gid, xattrs);
}

let writer: ObjectWriteBatcher["write"] | null | undefined;

/**
 * The addon's `writeObjectFile`, batched (io/object-write-batch.ts), or null without the addon or
 * with one built before it.
 */
function nativeWriter(): ObjectWriteBatcher["write"] | null {
  if (writer === undefined) {
    const n = hasNative() ? native() : null;
    if (n?.writeObjectFile && n.writeObjectFiles) {
      const b = new ObjectWriteBatcher({
        writeObjectFile: n.writeObjectFile.bind(n),
        writeObjectFiles: n.writeObjectFiles.bind(n),
      });
      writer = b.write.bind(b);
    } else writer = null;
  }
  return writer;
}

/** True when bare-mode objects are written through the addon (and `unpack` bodies can be). */
export function hasNativeWriter(): boolean {
  return nativeWriter() !== null;
}

/** True when the addon takes an `unpack` body as the chunks it came in (no copy into one buffer). */
export function nativeUnpacksChunks(): boolean {
  return nativeWriter() !== null && native().UNPACK_CHUNKS === true;
}

/**
 * Inflate a content object's raw-deflate body of `size` bytes here, on the calling thread (where
 * the addon cannot: archive repositories, no addon).
 * @throws ArborError OBJECT_CORRUPT naming object `checksum`.
 */
export function inflateBody(deflated: Uint8Array, size: number, checksum: string): Uint8Array {
  let data: Buffer;
  try {
    // one output buffer of the declared size (+1 to see more): no 16 KiB chunks to concatenate
    data = inflateRawSync(deflated, {
      maxOutputLength: Math.max(size, 1),
      chunkSize: Math.max(size + 1, 64),
    });
  } catch (e) {
    throw corruptContent(checksum, `cannot decompress: ${(e as Error).message}`);
  }
  if (data.length !== size)
    throw corruptContent(checksum, `data is ${data.length} bytes, header says ${size}`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * The ArborError for a body the addon refused (`unpack`: ERR_ARBOR_INFLATE, ERR_ARBOR_CHECKSUM)
 * for content object `checksum`; null for any other error.
 */
export function unpackError(e: unknown, checksum: string): ArborError | null {
  const code = (e as { code?: unknown })?.code;
  if (code === "ERR_ARBOR_CHECKSUM")
    return checksumMismatch("file", checksum, String((e as { actual?: unknown }).actual));
  if (code === "ERR_ARBOR_INFLATE") return corruptContent(checksum, (e as Error).message);
  return null;
}

/**
 * Write an object stored as its bytes (an archive-mode `.filez`, a metadata object in any mode)
 * at `p`, 0644, keeping its write time (as ostree): through the addon's `writeObjectFile`
 * (batched) when it has it, else through Node's fs.
 * @throws Node system errors.
 */
export async function writePlainObjectFile(p: string, bytes: Uint8Array): Promise<void> {
  const write = nativeWriter();
  if (write) await write(p, bytes, 0o644, -1, -1, [], false);
  else await createFileOffThread(p, bytes, 0o644);
}

/** Largest `data` {@link writeArchiveObjectNative} takes (the addon's limit). */
const PACK_MAX = 64 * 1024 * 1024;

/**
 * Write an archive-mode content object `head ‖ raw-deflate(data)` (level 6) at `p`, 0644, keeping
 * its write time, compressed where it is written: in the addon's pool trip (`pack`). Null (nothing
 * done) without the addon or for data over its limit: the caller compresses it itself.
 * @throws Node system errors.
 */
export function writeArchiveObjectNative(
  p: string,
  head: Uint8Array,
  data: Uint8Array,
): Promise<void> | null {
  const write = nativeWriter();
  if (!write || data.length > PACK_MAX) return null;
  return write(p, data, 0o644, -1, -1, [], false, undefined, head);
}

/**
 * Refuse content a bare-user-only repository cannot hold (owner, xattrs, setuid/setgid/sticky or
 * world-writable bits), in ostree's words. `p` is the staging path `…/XX/REST.file`.
 * @throws ArborError UNSUPPORTED
 */
export function checkBareUserOnly(p: string, h: FileHeader): void {
  if (h.uid !== 0 || h.gid !== 0 || h.xattrs.length) {
    throw new ArborError(
      "UNSUPPORTED",
      "Content with owner or xattrs cannot be stored in a bare-user-only repository",
    );
  }
  const bad = isLnk(h.mode) ? 0 : h.mode & 0o7777 & ~0o775;
  if (bad !== 0) {
    const cs = basename(p).replace(/\.file$/, ""); // staging/XXREST.file: the full checksum
    throw new ArborError(
      "UNSUPPORTED",
      `Content object ${cs}: invalid mode 0${h.mode.toString(8)} with bits 0${bad.toString(8)} (setuid/setgid/sticky or world-writable cannot be stored in a bare-user-only repository)`,
    );
  }
}

/** What a bare-user repository stores for a symlink: a regular file holding "target\0". */
export function bareUserSymlinkBody(h: FileHeader): Uint8Array {
  return Buffer.from(`${h.symlinkTarget}\0`);
}

/**
 * Give a staged bare-mode object its on-disk form. `data` is the regular-file data to write at
 * `p`, or null when it is already there (streamed objects). Regular files are written and given
 * their metadata through one file descriptor (one open per object: this is the hot path).
 * @throws ArborError UNSUPPORTED (bare-user-only); Node system errors.
 */
export function writeBareContentSync(
  mode: RepoMode,
  p: string,
  h: FileHeader,
  data: Uint8Array | null,
): void {
  if (mode === "bare-user-only") checkBareUserOnly(p, h);
  if (isLnk(h.mode) && mode !== "bare-user") {
    // bare, bare-user-only: a real symlink
    symlinkSync(h.symlinkTarget, p);
    if (mode === "bare") {
      lchownSync(p, h.uid, h.gid);
      for (const [k, v] of h.xattrs) native().lsetxattr(p, k, v);
    }
    lutimesSync(p, 0, 0);
    return;
  }
  const body = isLnk(h.mode) ? bareUserSymlinkBody(h) : data;
  const fd = body ? openSync(p, "w", 0o600) : openSync(p, "r");
  try {
    if (body) writeAll(fd, body);
    setBareMetadata(mode, fd, h);
  } finally {
    closeSync(fd);
  }
}
