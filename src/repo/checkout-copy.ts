/**
 * Checkout helpers: writing a copy of a file object, and deciding whether a file already in the
 * destination is the same object (union-identical), as ostree decides it.
 */

import { checksumContent, type FileHeader } from "../core/content-header.js";
import { isLnk, S_IFREG } from "../core/mode.js";
import { fromSystemError } from "../errors.js";
import { native } from "../io/native.js";
import { fs } from "../io/node-builtins.js";
import { type FileObject, fileDataStream, readFileDataSync } from "./read-object.js";
import type { Repo } from "./repo.js";

/** How a copy is finished. */
export interface CopyFinish {
  /** No owners or xattrs; setuid/setgid dropped. */
  userMode: boolean;
  /** The object has no owner-read bit and is checked out in user mode: add it (as ostree does). */
  unreadable: boolean;
}

function finishRegular(path: string, h: FileHeader, o: CopyFinish): void {
  const fd = fs.openSync(path, "r");
  try {
    if (!o.userMode) {
      fs.fchownSync(fd, h.uid, h.gid);
      for (const [k, v] of h.xattrs) native().fsetxattr(fd, k, v);
    }
    let mode = h.mode & 0o7777;
    if (o.userMode) mode &= ~0o6000;
    if (o.unreadable) mode |= 0o400;
    fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write a copy of `obj` at `dest` (which must not exist). Returns a promise only when `stream` is
 * set (large compressed objects are streamed instead of inflated in memory).
 * @throws ArborError IO (the system error), OBJECT_CORRUPT from reading the object.
 */
export function writeCopy(obj: FileObject, dest: string, o: CopyFinish, stream?: false): void;
export function writeCopy(obj: FileObject, dest: string, o: CopyFinish, stream: true): Promise<void>;
export function writeCopy(
  obj: FileObject,
  dest: string,
  o: CopyFinish,
  stream = false,
): void | Promise<void> {
  const h = obj.header;
  try {
    if (isLnk(h.mode)) {
      fs.symlinkSync(h.symlinkTarget, dest);
      if (!o.userMode) {
        fs.lchownSync(dest, h.uid, h.gid);
        for (const [k, v] of h.xattrs) native().lsetxattr(dest, k, v);
      }
      return;
    }
    if (stream) return streamCopy(obj, dest, o);
    if (!obj.compressed) fs.copyFileSync(obj.path, dest, fs.constants.COPYFILE_EXCL);
    else {
      const data = readFileDataSync(obj);
      const fd = fs.openSync(dest, "wx", 0o600);
      try {
        let off = 0;
        while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      } finally {
        fs.closeSync(fd);
      }
    }
    finishRegular(dest, h, o);
  } catch (e) {
    throw fromSystemError(`Cannot write "${dest}"`, e);
  }
}

async function streamCopy(obj: FileObject, dest: string, o: CopyFinish): Promise<void> {
  const { open } = await import("node:fs/promises");
  const fh = await open(dest, "wx", 0o600);
  try {
    for await (const chunk of fileDataStream(obj)) await fh.write(chunk);
  } finally {
    await fh.close();
  }
  finishRegular(dest, obj.header, o);
}

function xattrsOf(path: string): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  try {
    for (const n of native().llistxattr(path).sort()) {
      const v = native().lgetxattr(path, n);
      if (v) out.push([n, new Uint8Array(v)]);
    }
  } catch {
    // no xattr support: none
  }
  return out;
}

/**
 * True if the existing `dest` (lstat `st`) is the object: a symlink with the same target, or a
 * regular file whose content checksum (owner, mode, xattrs and data; xattrs ignored and
 * permissions canonical for bare-user-only repos) is the object's.
 */
export function existingMatches(
  repo: Repo,
  obj: FileObject,
  dest: string,
  st: import("node:fs").Stats,
): boolean {
  if (isLnk(obj.header.mode))
    return st.isSymbolicLink() && fs.readlinkSync(dest) === obj.header.symlinkTarget;
  if (!st.isFile() || st.size !== obj.size) return false;
  const canonical = repo.mode === "bare-user-only";
  const h: FileHeader = {
    uid: canonical ? 0 : st.uid,
    gid: canonical ? 0 : st.gid,
    mode: S_IFREG | (canonical ? st.mode & 0o755 : st.mode & 0o7777),
    symlinkTarget: "",
    xattrs: canonical ? [] : xattrsOf(dest),
  };
  return checksumContent(h, fs.readFileSync(dest)) === obj.checksum;
}
