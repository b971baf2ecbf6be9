/**
 * The OSTree checksum of a file on disk (content object name) or a directory (its dirmeta),
 * as `ostree checksum` computes it.
 */
import { createReadStream, lstatSync, readlinkSync } from "node:fs";
import { sha256Hex } from "../core/checksum.js";
import { checksumContent, contentHasher, type FileHeader } from "../core/content-header.js";
import { encodeDirmeta } from "../core/metadata.js";
import { S_IFLNK, S_IFREG } from "../core/mode.js";
import { ArborError, fromSystemError } from "../errors.js";
import { readXattrsOf } from "./commit.js";

/** @throws ArborError NOT_FOUND, UNSUPPORTED (device nodes…) */
export async function checksumPath(path: string, o: { ignoreXattrs?: boolean } = {}): Promise<string> {
  let st: import("node:fs").Stats;
  try {
    st = lstatSync(path);
  } catch (e) {
    throw fromSystemError(`Cannot checksum "${path}"`, e);
  }
  // the same xattr reading as commit, so `checksum` and `commit` always agree (and agree with ostree)
  const xattrs = o.ignoreXattrs ? [] : readXattrsOf(path);
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
  // stream the data: a large file is never held in memory
  const hash = contentHasher(h);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
