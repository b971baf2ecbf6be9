/**
 * The fast path of content verification, for the common object: a regular file.
 *
 * read-object.ts looks an object up by path several times (lstat, then each xattr, then open to
 * read) and decodes every header with the general GVariant reader. That is right for one object
 * and costs ~2x ostree's CPU over a 30k-file tree. Here each object costs one open: the header
 * comes from the open descriptor (fstat, fgetxattr) or from the same read that fetches an
 * archive object's data, the canonical-stream prefix of identical headers is built once, and
 * data is hashed from one reused buffer.
 *
 * Anything unusual (symlinks, unexpected xattr layouts, any error) returns null and the caller
 * takes the general path, which owns the exact error messages. So this file can only make fsck
 * faster, never change a verdict.
 */

import { createHash } from "node:crypto";
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { inflateRawSync } from "node:zlib";
import {
  contentStreamPrefix,
  decodeArchiveHeader,
  decodeUserMeta,
  type FileHeader,
} from "../core/content-header.js";
import { isReg } from "../core/mode.js";
import { native } from "../io/native.js";
import type { Repo } from "./repo.js";

/** Archive objects up to this stored size are read and inflated in one piece. */
const WHOLE_MAX = 4 * 1024 * 1024;

let buf = Buffer.allocUnsafe(1 << 20);

/** Canonical-stream prefixes of recently seen xattr-free headers, keyed by uid:gid:mode. */
const prefixes = new Map<string, Uint8Array>();

function prefixFor(h: FileHeader): Uint8Array {
  if (h.xattrs.length) return contentStreamPrefix(h);
  const key = `${h.uid}:${h.gid}:${h.mode}`;
  let p = prefixes.get(key);
  if (!p) {
    if (prefixes.size > 256) prefixes.clear();
    p = contentStreamPrefix(h);
    prefixes.set(key, p);
  }
  return p;
}

/** Decoded archive headers by their bytes after the size field (most files share a few). */
const archiveHeaders = new Map<string, FileHeader>();

function readAll(fd: number, size: number): Buffer | null {
  if (buf.length < size) buf = Buffer.allocUnsafe(Math.max(size, buf.length * 2));
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) return null; // shrank under us: let the general path report it
    off += n;
  }
  return buf.subarray(0, size);
}

function plainHeader(repo: Repo, fd: number, st: Stats): FileHeader | null {
  if (repo.mode === "bare-user-only") return { uid: 0, gid: 0, mode: st.mode, symlinkTarget: "", xattrs: [] };
  if (repo.mode === "bare-user") {
    const meta = native().fgetxattr(fd, "user.ostreemeta");
    if (!meta) return null;
    if (meta.length === 12) {
      // (uuua(ayay)) with no xattrs: three BE u32 and an empty array
      return {
        uid: meta.readUInt32BE(0),
        gid: meta.readUInt32BE(4),
        mode: meta.readUInt32BE(8),
        symlinkTarget: "",
        xattrs: [],
      };
    }
    const m = decodeUserMeta(new Uint8Array(meta));
    return { ...m, symlinkTarget: "" };
  }
  // bare: the inode is the metadata
  const names = native().flistxattr(fd);
  const xattrs: Array<[string, Uint8Array]> = [];
  for (const name of names.sort()) {
    const v = native().fgetxattr(fd, name);
    if (v) xattrs.push([name, new Uint8Array(v)]);
  }
  return { uid: st.uid, gid: st.gid, mode: st.mode, symlinkTarget: "", xattrs };
}

function hashPlain(repo: Repo, fd: number): string | null {
  const st = fstatSync(fd);
  if (!st.isFile()) return null;
  const h = plainHeader(repo, fd, st);
  if (!h || !isReg(h.mode)) return null;
  const hash = createHash("sha256").update(prefixFor(h));
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    hash.update(buf.subarray(0, n));
  }
  return hash.digest("hex");
}

function hashArchive(fd: number): string | null {
  const size = fstatSync(fd).size;
  if (size < 8 || size > WHOLE_MAX) return null;
  const b = readAll(fd, size);
  if (!b) return null;
  const len = b.readUInt32BE(0);
  if (len < 8 || len > size - 8) return null;
  const hb = b.subarray(8, 8 + len);
  const key = hb.toString("latin1", 8);
  let h = archiveHeaders.get(key);
  if (!h) {
    h = decodeArchiveHeader(new Uint8Array(hb)).header;
    if (archiveHeaders.size > 256) archiveHeaders.clear();
    archiveHeaders.set(key, h);
  }
  if (!isReg(h.mode)) return null;
  const dataSize = Number(hb.readBigUInt64BE(0));
  const data = inflateRawSync(b.subarray(8 + len), { maxOutputLength: Math.max(dataSize, 1) });
  if (data.length !== dataSize) return null;
  return createHash("sha256").update(prefixFor(h)).update(data).digest("hex");
}

/**
 * The checksum a regular-file content object hashes to, computed with one open; null when the
 * object is not the common case (or anything fails) and the general path must decide.
 */
export function fastContentChecksum(repo: Repo, checksum: string): string | null {
  let fd: number;
  try {
    fd = openSync(repo.objectPath(checksum, "file"), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    return repo.archive ? hashArchive(fd) : hashPlain(repo, fd);
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
