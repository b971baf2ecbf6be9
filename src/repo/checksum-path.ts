/**
 * The OSTree checksum of a file on disk (content object name) or a directory (its dirmeta),
 * as `ostree checksum` computes it.
 */
import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { sha256Hex } from "../core/checksum.js";
import { checksumContent, type FileHeader } from "../core/content-header.js";
import { encodeDirmeta } from "../core/metadata.js";
import { S_IFLNK, S_IFREG } from "../core/mode.js";
import { ArborError, fromSystemError } from "../errors.js";
import { native } from "../io/native.js";

/** @throws ArborError NOT_FOUND, UNSUPPORTED (device nodes…) */
export async function checksumPath(path: string, o: { ignoreXattrs?: boolean } = {}): Promise<string> {
  let st: import("node:fs").Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    throw fromSystemError(`Cannot checksum "${path}"`, e);
  }
  const xattrs: Array<[string, Uint8Array]> = [];
  if (!o.ignoreXattrs) {
    try {
      for (const n of native().llistxattr(path).sort()) {
        const v = native().lgetxattr(path, n);
        if (v) xattrs.push([n, new Uint8Array(v)]);
      }
    } catch {
      // no xattr support: none
    }
  }
  if (st.isDirectory()) return sha256Hex(encodeDirmeta({ uid: st.uid, gid: st.gid, mode: st.mode, xattrs }));
  if (st.isSymbolicLink()) {
    const h: FileHeader = {
      uid: st.uid,
      gid: st.gid,
      mode: S_IFLNK | 0o777,
      symlinkTarget: readlinkSync(path),
      xattrs,
    };
    return checksumContent(h);
  }
  if (!st.isFile())
    throw new ArborError(
      "UNSUPPORTED",
      `Cannot checksum "${path}": not a regular file, symlink or directory`,
    );
  const h: FileHeader = {
    uid: st.uid,
    gid: st.gid,
    mode: S_IFREG | (st.mode & 0o7777),
    symlinkTarget: "",
    xattrs,
  };
  return checksumContent(h, readFileSync(path));
}
