/**
 * Reading content objects in every repo mode (fact sheet §3.3, §3.4):
 *  - bare: the object is the file itself (real owner, mode, xattrs) or a real symlink;
 *  - bare-user: a regular file; owner/mode/xattrs in the `user.ostreemeta` xattr; symlinks are
 *    regular files holding "target\0";
 *  - bare-user-only: regular file or real symlink; owner 0:0, no xattrs;
 *  - archive: `.filez` = framed `(tuuuusa(ayay))` header + raw-deflate data.
 * Everything read is checked for consistency (sizes, modes); hashes are checked by fsck and pull.
 */
import { closeSync, fstatSync, lstatSync, openSync, readFileSync, readlinkSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { createInflateRaw, inflateRawSync } from "node:zlib";
import { decodeArchiveHeader, decodeUserMeta, type FileHeader } from "../core/content-header.js";
import { isLnk, isReg } from "../core/mode.js";
import { validateChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { native } from "../io/native.js";
import { decodeArchiveHeaderCached } from "./content-fast.js";
import type { Repo } from "./repo.js";

/** A content object's header and where its data is. */
export interface FileObject {
  checksum: string;
  header: FileHeader;
  /** Uncompressed data size (0 for symlinks). */
  size: number;
  /** Absolute path of the loose object. */
  path: string;
  /** For archive objects: offset of the deflate stream in the file. */
  dataOffset: number;
  compressed: boolean;
  /**
   * The whole object file as read while looking up its header, when it was small enough to come
   * in that one read (archive objects up to {@link WHOLE_READ} bytes): readers use it instead of
   * opening the file again. Never modified.
   */
  raw?: Buffer;
}

/** Archive objects up to this size are read whole by the header lookup (one open, one read). */
const WHOLE_READ = 64 * 1024;

const MAX_HEADER = 16 * 1024 * 1024;

function readXattrs(path: string): Array<[string, Uint8Array]> {
  const out: Array<[string, Uint8Array]> = [];
  for (const name of native().llistxattr(path).sort()) {
    const v = native().lgetxattr(path, name);
    if (v) out.push([name, new Uint8Array(v)]);
  }
  return out;
}

/**
 * Look up a content object's header (no data read except for archive headers).
 * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT
 */
export function statFileObject(repo: Repo, checksum: string): FileObject {
  validateChecksum(checksum);
  const path = repo.objectPath(checksum, "file");
  const what = `content object ${checksum}`;
  try {
    if (repo.mode === "archive") return statArchive(path, checksum, what);
    const st = lstatSync(path);
    if (repo.mode === "bare") {
      if (st.isSymbolicLink()) {
        return {
          checksum,
          header: lazyXattrs(
            { uid: st.uid, gid: st.gid, mode: st.mode, symlinkTarget: readlinkSync(path) },
            path,
          ),
          size: 0,
          path,
          dataOffset: 0,
          compressed: false,
        };
      }
      if (!st.isFile()) throw new ArborError("OBJECT_CORRUPT", `${what} is not a regular file or symlink`);
      return {
        checksum,
        header: lazyXattrs({ uid: st.uid, gid: st.gid, mode: st.mode, symlinkTarget: "" }, path),
        size: st.size,
        path,
        dataOffset: 0,
        compressed: false,
      };
    }
    if (repo.mode === "bare-user-only") {
      if (st.isSymbolicLink()) {
        return {
          checksum,
          header: { uid: 0, gid: 0, mode: st.mode, symlinkTarget: readlinkSync(path), xattrs: [] },
          size: 0,
          path,
          dataOffset: 0,
          compressed: false,
        };
      }
      if (!st.isFile()) throw new ArborError("OBJECT_CORRUPT", `${what} is not a regular file or symlink`);
      return {
        checksum,
        header: { uid: 0, gid: 0, mode: st.mode, symlinkTarget: "", xattrs: [] },
        size: st.size,
        path,
        dataOffset: 0,
        compressed: false,
      };
    }
    // bare-user
    if (!st.isFile()) throw new ArborError("OBJECT_CORRUPT", `${what} is not a regular file`);
    const meta = native().lgetxattr(path, "user.ostreemeta");
    if (!meta) throw new ArborError("OBJECT_CORRUPT", `${what} has no user.ostreemeta xattr`);
    let m: ReturnType<typeof decodeUserMeta>;
    try {
      m = decodeUserMeta(new Uint8Array(meta));
    } catch (e) {
      throw new ArborError("OBJECT_CORRUPT", `${what}: invalid user.ostreemeta: ${(e as Error).message}`);
    }
    if (isLnk(m.mode)) {
      const data = readFileSync(path);
      if (data.length < 2 || data[data.length - 1] !== 0) {
        throw new ArborError(
          "OBJECT_CORRUPT",
          `${what}: symlink object does not hold a NUL-terminated target`,
        );
      }
      const target = data.subarray(0, data.length - 1).toString("utf8");
      return {
        checksum,
        header: { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: target, xattrs: m.xattrs },
        size: 0,
        path,
        dataOffset: 0,
        compressed: false,
      };
    }
    if (!isReg(m.mode))
      throw new ArborError(
        "OBJECT_CORRUPT",
        `${what}: invalid mode 0${m.mode.toString(8)} in user.ostreemeta`,
      );
    return {
      checksum,
      header: { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: "", xattrs: m.xattrs },
      size: st.size,
      path,
      dataOffset: 0,
      compressed: false,
    };
  } catch (e) {
    if (e instanceof ArborError) throw e;
    if (errnoCode(e) === "ENOENT") {
      if (repo.parent) return statFileObject(repo.parent, checksum); // core.parent
      throw new ArborError("OBJECT_NOT_FOUND", `Couldn't find file object '${checksum}'`, {
        data: { checksum, type: "file" },
      });
    }
    throw fromSystemError(`Cannot read ${what}`, e);
  }
}

/**
 * A bare object's header whose xattrs are read on first use: a hardlink checkout (admin deploy)
 * needs only the mode and size, and listing and reading every xattr of every file costs more
 * than the link itself.
 */
function lazyXattrs(h: Omit<FileHeader, "xattrs">, path: string): FileHeader {
  let xattrs: Array<[string, Uint8Array]> | undefined;
  return Object.defineProperty(h, "xattrs", {
    enumerable: true,
    configurable: true,
    get(): Array<[string, Uint8Array]> {
      if (xattrs === undefined) {
        try {
          xattrs = readXattrsMaybe(path);
        } catch (e) {
          throw fromSystemError(`Cannot read the xattrs of "${path}"`, e);
        }
      }
      return xattrs;
    },
    set(v: Array<[string, Uint8Array]>) {
      xattrs = v;
    },
  }) as FileHeader;
}

function readXattrsMaybe(path: string): Array<[string, Uint8Array]> {
  try {
    return readXattrs(path);
  } catch (e) {
    if (errnoCode(e) === "ENOTSUP" || errnoCode(e) === "EOPNOTSUPP") return [];
    throw e;
  }
}

/**
 * Read the header of the archive-mode (`.filez`) content object at `path` (no data read).
 * @throws ArborError OBJECT_CORRUPT; a system error if the file cannot be read
 */
export function statArchiveFile(path: string, checksum: string): FileObject {
  return statArchive(path, checksum, `content object ${checksum}`);
}

/**
 * An archive-mode content object from its whole file's bytes (read by the caller, e.g. many at
 * once with the addon's `readFiles`); `raw` is set to them. Headers are decoded through a cache
 * (content-fast.ts): the object's header is shared and must not be changed.
 * @throws ArborError OBJECT_CORRUPT
 */
export function archiveObjectFromBytes(path: string, checksum: string, bytes: Buffer): FileObject {
  const what = `content object ${checksum}`;
  if (bytes.length < 8) throw new ArborError("OBJECT_CORRUPT", `${what}: truncated header`);
  const len = bytes.readUInt32BE(0);
  if (len > MAX_HEADER || len > bytes.length - 8)
    throw new ArborError("OBJECT_CORRUPT", `${what}: header length ${len} exceeds the object`);
  const obj = archiveObject(bytes.subarray(8, 8 + len), len, path, checksum, what, decodeArchiveHeaderCached);
  obj.raw = bytes;
  return obj;
}

/** The FileObject of an archive object whose header bytes are `hb` (`len` long). */
function archiveObject(
  hb: Uint8Array,
  len: number,
  path: string,
  checksum: string,
  what: string,
  decode: (hb: Uint8Array) => { header: FileHeader; size: number },
): FileObject {
  let parsed: { header: FileHeader; size: number };
  try {
    parsed = decode(hb);
  } catch (e) {
    throw new ArborError("OBJECT_CORRUPT", `${what}: ${(e as Error).message}`);
  }
  const { header, size } = parsed;
  if (isLnk(header.mode) && size !== 0) throw new ArborError("OBJECT_CORRUPT", `${what}: symlink with data`);
  return {
    checksum,
    header,
    size: isLnk(header.mode) ? 0 : size,
    path,
    dataOffset: 8 + len,
    compressed: true,
  };
}

function statArchive(path: string, checksum: string, what: string): FileObject {
  const fd = openSync(path, "r");
  try {
    const fileSize = fstatSync(fd).size;
    // one read for the frame and the header, and for a small object its data too
    const first = Buffer.allocUnsafe(Math.min(Math.max(fileSize, 8), WHOLE_READ));
    const got = readSync(fd, first, 0, first.length, 0);
    if (got < 8) throw new ArborError("OBJECT_CORRUPT", `${what}: truncated header`);
    const len = first.readUInt32BE(0);
    if (len > MAX_HEADER || len > fileSize - 8) {
      throw new ArborError("OBJECT_CORRUPT", `${what}: header length ${len} exceeds the object`);
    }
    let hb: Uint8Array;
    if (8 + len <= got) hb = first.subarray(8, 8 + len);
    else {
      hb = new Uint8Array(len);
      if (readSync(fd, hb, 0, len, 8) !== len)
        throw new ArborError("OBJECT_CORRUPT", `${what}: truncated header`);
    }
    const obj = archiveObject(hb, len, path, checksum, what, decodeArchiveHeader);
    if (got === fileSize) obj.raw = first.subarray(0, got);
    return obj;
  } finally {
    closeSync(fd);
  }
}

/**
 * Read a content object's whole data into memory (for small files; symlinks have none), checked
 * against the size its header (archive) or inode (bare modes) declares. Archive data is inflated
 * into one buffer of the declared size.
 * @throws ArborError OBJECT_CORRUPT; Node system errors.
 */
export function readFileDataSync(obj: FileObject): Uint8Array {
  if (isLnk(obj.header.mode)) return new Uint8Array(0);
  const raw = obj.raw ?? readFileSync(obj.path);
  if (!obj.compressed) {
    if (raw.length !== obj.size) throw corruptData(obj, `data is ${raw.length} bytes, expected ${obj.size}`);
    return raw;
  }
  let out: Buffer;
  try {
    // one output buffer of the declared size (+1 to see more): no chunks to concatenate
    out = inflateRawSync(raw.subarray(obj.dataOffset), {
      maxOutputLength: Math.max(obj.size, 1),
      chunkSize: Math.max(obj.size + 1, 64),
    });
  } catch (e) {
    throw corruptData(obj, `invalid compressed data: ${(e as Error).message}`);
  }
  if (out.length !== obj.size) throw corruptData(obj, `data is ${out.length} bytes, header says ${obj.size}`);
  return out;
}

/** OBJECT_CORRUPT naming the content object and what is wrong with its data. */
export function corruptData(obj: FileObject, why: string): ArborError {
  return new ArborError("OBJECT_CORRUPT", `Content object ${obj.checksum}: ${why}`);
}

/**
 * Stream a content object's data (inflated for archive repos). Yields exactly `obj.size` bytes
 * or throws OBJECT_CORRUPT; never yields more than the header declares.
 */
export async function* fileDataStream(obj: FileObject, chunkSize = 1 << 20): AsyncGenerator<Uint8Array> {
  if (isLnk(obj.header.mode) || obj.size === 0) {
    if (obj.compressed) readFileDataSync(obj); // still validate the (empty) stream
    return;
  }
  const fh = await open(obj.path, "r");
  try {
    const src = fh.createReadStream({ start: obj.dataOffset, highWaterMark: chunkSize, autoClose: false });
    let total = 0;
    // output in chunks of up to `chunkSize` (zlib's default, 16 KiB, is one thread-pool trip each)
    const stream = obj.compressed
      ? src.pipe(createInflateRaw({ chunkSize: Math.min(chunkSize, Math.max(obj.size + 1, 64)) }))
      : src;
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > obj.size) throw corruptData(obj, `data exceeds the declared ${obj.size} bytes`);
        yield chunk;
      }
    } catch (e) {
      if (e instanceof ArborError) throw e;
      throw corruptData(obj, `invalid data: ${(e as Error).message}`);
    } finally {
      src.destroy();
    }
    if (total !== obj.size) throw corruptData(obj, `data is ${total} bytes, header says ${obj.size}`);
  } finally {
    await fh.close();
  }
}
