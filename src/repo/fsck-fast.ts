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
import { decodeUserMeta, type FileHeader } from "../core/content-header.js";
import { isReg } from "../core/mode.js";
import { native } from "../io/native.js";
import { prefixFor, readWhole, scratch, splitArchive } from "./content-fast.js";
import type { Repo } from "./repo.js";

/** Archive objects up to this stored size are read and inflated in one piece. */
const WHOLE_MAX = 4 * 1024 * 1024;

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
  const buf = scratch(1 << 20);
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
  const b = readWhole(fd, size);
  const parts = b && splitArchive(b);
  // larger data is streamed by the general path: memory per object stays bounded
  if (!parts || !isReg(parts.header.mode) || parts.size > WHOLE_MAX) return null;
  const data = inflateRawSync(parts.deflated, {
    maxOutputLength: Math.max(parts.size, 1),
    chunkSize: Math.max(parts.size + 1, 64),
  });
  if (data.length !== parts.size) return null;
  return createHash("sha256").update(prefixFor(parts.header)).update(data).digest("hex");
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
