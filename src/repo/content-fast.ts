/**
 * Pieces of fsck's per-object hot path (fsck-fast.ts, on the main thread and on fsck's workers):
 * one reused read buffer per thread, decoded archive headers and canonical-stream prefixes cached
 * by value (most files of a tree share a handful of owner/mode combinations), so that each object
 * costs one open and one read rather than a GVariant decode and encode and two opens.
 */
import { readSync } from "node:fs";
import { contentStreamPrefix, decodeArchiveHeader, type FileHeader } from "../core/content-header.js";

let buf = Buffer.allocUnsafe(1 << 20);

/**
 * Read `size` bytes from the start of `fd` into this thread's reused buffer (valid until the next
 * call); null if the file is shorter than that.
 */
export function readWhole(fd: number, size: number): Buffer | null {
  if (buf.length < size) buf = Buffer.allocUnsafe(Math.max(size, buf.length * 2));
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) return null;
    off += n;
  }
  return buf.subarray(0, size);
}

/** This thread's reused read buffer, at least `size` bytes (valid until the next call). */
export function scratch(size: number): Buffer {
  if (buf.length < size) buf = Buffer.allocUnsafe(Math.max(size, buf.length * 2));
  return buf;
}

/**
 * `encode`, cached for plain headers (no xattrs, no symlink target), keyed by uid:gid:mode: most
 * files of a tree share a handful of owner/mode combinations, and a GVariant encode per object
 * costs more than the lookup. At most 256 entries are kept.
 */
export function perOwnerAndMode(encode: (h: FileHeader) => Uint8Array): (h: FileHeader) => Uint8Array {
  const cache = new Map<string, Uint8Array>();
  return (h) => {
    if (h.xattrs.length || h.symlinkTarget !== "") return encode(h);
    const key = `${h.uid}:${h.gid}:${h.mode}`;
    let v = cache.get(key);
    if (!v) {
      if (cache.size >= 256) cache.clear();
      v = encode(h);
      cache.set(key, v);
    }
    return v;
  };
}

/** The canonical stream's header part for `h` (cached for regular files without xattrs). */
export const prefixFor: (h: FileHeader) => Uint8Array = perOwnerAndMode(contentStreamPrefix);

/** Decoded archive headers by their bytes after the size field. */
const archiveHeaders = new Map<string, FileHeader>();
/** Headers longer than this (xattrs) are decoded each time, never cached. */
const MAX_CACHED_HEADER = 1024;

/**
 * Decode an archive header's bytes `hb` (`(tuuuusa(ayay))`, without the framing): the header and
 * the declared data size. Cached by value (most objects of a tree share a few headers); the
 * returned header is shared: callers must not change it.
 * @throws ArborError OBJECT_CORRUPT if it does not decode.
 */
export function decodeArchiveHeaderCached(hb: Uint8Array): { header: FileHeader; size: number } {
  const b = Buffer.from(hb.buffer, hb.byteOffset, hb.byteLength);
  if (b.length < 8 || b.length > MAX_CACHED_HEADER) return decodeArchiveHeader(new Uint8Array(b));
  const key = b.toString("latin1", 8);
  let h = archiveHeaders.get(key);
  if (!h) {
    h = decodeArchiveHeader(new Uint8Array(b)).header;
    if (archiveHeaders.size > 256) archiveHeaders.clear();
    archiveHeaders.set(key, h);
  }
  return { header: h, size: Number(b.readBigUInt64BE(0)) };
}

/** An archive object read whole: its header, declared data size, and the deflated data. */
export interface ArchiveParts {
  header: FileHeader;
  size: number;
  deflated: Buffer;
}

/**
 * Split a whole archive object (`b`, as read by {@link readWhole}): framed header, then deflate
 * data. Null if the framing is implausible (the caller's general path words the error).
 * @throws Error if the header does not decode.
 */
export function splitArchive(b: Buffer): ArchiveParts | null {
  if (b.length < 8) return null;
  const len = b.readUInt32BE(0);
  if (len < 8 || len > b.length - 8) return null;
  const { header, size } = decodeArchiveHeaderCached(b.subarray(8, 8 + len));
  return { header, size, deflated: b.subarray(8 + len) };
}
