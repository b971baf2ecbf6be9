/**
 * Verifying one stored object, as `ostree_repo_fsck_object`: an object is valid when the bytes
 * on disk hash to its name and its structure is what a writer may produce.
 *
 *  - metadata (commit, dirtree, dirmeta): SHA-256 of the raw bytes; then normal form, 32-byte
 *    checksums, safe file names (no `/`, `.`, `..`), sorted unique entries, directory modes;
 *  - content: the canonical stream (fact sheet §2.5) is rebuilt from what is stored — the header
 *    from the archive header, `user.ostreemeta` or the inode itself, the data inflated or read —
 *    and hashed; the mode must be a regular file or symlink with permission bits only.
 *
 * Failures are ArborErrors worded as ostree words them, so `fsck` output matches line for line:
 * `fsck CS.dirtree: Corrupted dirtree object; checksum expected='CS' actual='X'`,
 * `fsck content object CS: Corrupted file object; checksum expected='CS' actual='X'`.
 * `data.reason` holds the part after the prefix.
 */

import type { Hash } from "node:crypto";
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { pipeline } from "node:stream";
import { createInflateRaw, inflateRawSync } from "node:zlib";
import { sha256Hex } from "../core/checksum.js";
import { contentHasher } from "../core/content-header.js";
import { decodeCommit, decodeDirmeta, decodeDirtree } from "../core/metadata.js";
import { isDir, isLnk, isReg, S_IFMT } from "../core/mode.js";
import type { ObjectType } from "../core/object-type.js";
import { filenameProblem } from "../core/validate.js";
import { ArborError, isArborError } from "../errors.js";
import { bswap32, COMMIT, DIRMETA, DIRTREE } from "../gvariant/formats.js";
import { deserialize, type GVValue, isNormalForm } from "../gvariant/index.js";
import { fastContentChecksum } from "./fsck-fast.js";
import { type FileObject, statFileObject } from "./read-object.js";
import type { Repo } from "./repo.js";

/** Archive objects up to this declared size are inflated in one piece; larger ones are streamed. */
const WHOLE_READ_MAX = 4 * 1024 * 1024;

function corrupt(checksum: string, type: ObjectType, prefix: string, reason: string): ArborError {
  return new ArborError("OBJECT_CORRUPT", `${prefix}${reason}`, { data: { checksum, type, reason } });
}

function missing(checksum: string, type: ObjectType): ArborError {
  const what = type === "file" ? "content object" : "metadata object";
  return new ArborError("OBJECT_NOT_FOUND", `No such ${what} ${checksum}.${type}`, {
    data: { checksum, type, reason: "missing" },
  });
}

/** ostree's ot_util_filename_validate wording. */
function csumProblem(b: Uint8Array): string | null {
  return b.length === 32 ? null : `Invalid checksum of length ${b.length} expected 32`;
}

const PERM_BITS = 0o7777;

/** How read-object.ts starts its messages; fsck has its own prefix. */
const OWN_PREFIX = /^(content object|Content object) [0-9a-f]{64}:? ?/;

/** ostree's validate_stat_mode_perms wording. */
function modeBitsProblem(mode: number): string | null {
  return mode & ~S_IFMT & ~PERM_BITS ? `Invalid mode ${mode}; invalid bits in mode` : null;
}

/** Structural checks beyond the hash, ostree's wording first, then our stricter decoders. */
function structureProblem(type: ObjectType, b: Uint8Array): string | null {
  const gvType =
    type === "commit" ? COMMIT : type === "dirtree" ? DIRTREE : type === "dirmeta" ? DIRMETA : null;
  if (gvType === null) return null; // commitmeta, tombstones: no schema beyond a{sv} (as ostree)
  if (!isNormalForm(gvType, b)) return "Not normal form";
  const v = deserialize(gvType, b) as GVValue[];
  if (type === "dirtree") {
    const [files, dirs] = v as [Array<[string, Uint8Array]>, Array<[string, Uint8Array, Uint8Array]>];
    for (const [name, cs] of files) {
      const p = filenameProblem(name) ?? csumProblem(cs);
      if (p) return p;
    }
    for (const [name, t, m] of dirs) {
      const p = filenameProblem(name) ?? csumProblem(t) ?? csumProblem(m);
      if (p) return p;
    }
  } else if (type === "dirmeta") {
    const mode = bswap32((v as number[])[2]!);
    if (!isDir(mode)) return `Invalid directory metadata mode ${mode}; not a directory`;
    const p = modeBitsProblem(mode);
    if (p) return p;
  }
  try {
    if (type === "commit") decodeCommit(b);
    else if (type === "dirtree") decodeDirtree(b);
    else decodeDirmeta(b);
  } catch (e) {
    return stripPrefix((e as Error).message, /^Invalid (commit|dirtree|dirmeta): /);
  }
  return null;
}

function stripPrefix(msg: string, re: RegExp): string {
  return msg.replace(re, "");
}

/**
 * Verify a metadata object (commit, dirtree, dirmeta; others are only read).
 * @returns the object's bytes, for callers that go on to decode it.
 * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT (`fsck CS.TYPE: …`), IO.
 */
export function fsckMetadataObject(repo: Repo, type: ObjectType, checksum: string): Uint8Array {
  const prefix = `fsck ${checksum}.${type}: `;
  let b: Uint8Array | null;
  try {
    b = repo.readMetadataMaybe(type, checksum);
  } catch (e) {
    if (isArborError(e, "OBJECT_CORRUPT")) throw corrupt(checksum, type, prefix, e.message);
    throw e;
  }
  if (!b) throw missing(checksum, type);
  if (type === "commitmeta" || type === "tombstone-commit") return b;
  const actual = sha256Hex(b);
  if (actual !== checksum) {
    throw corrupt(
      checksum,
      type,
      prefix,
      `Corrupted ${type} object; checksum expected='${checksum}' actual='${actual}'`,
    );
  }
  const p = structureProblem(type, b);
  if (p) throw corrupt(checksum, type, prefix, `${checksum}.${type}: ${p}`);
  return b;
}

/** One read buffer for every uncompressed object: reads are synchronous, so it is never shared. */
let readBuf: Buffer | undefined;

/** Hash an uncompressed object's data in fixed-size synchronous reads (no allocation per file). */
function hashPlainData(path: string, h: ReturnType<typeof contentHasher>): void {
  readBuf ??= Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, "r");
  try {
    for (;;) {
      const n = readSync(fd, readBuf, 0, readBuf.length, null);
      if (n === 0) break;
      h.update(readBuf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

/** GLib's GZlibDecompressor wording for zlib failures (what ostree prints), else zlib's own. */
function zlibProblem(e: unknown): Error {
  const code = (e as { code?: string }).code;
  if (code === "Z_BUF_ERROR") return new Error("Need more input");
  if (code === "Z_DATA_ERROR" || code === "Z_NEED_DICT") return new Error("Invalid compressed data");
  if (code === "Z_MEM_ERROR") return new Error("Not enough memory");
  return new Error(`invalid compressed data: ${(e as Error).message}`);
}

/** Inflate an archive object's data as a stream, hashing all of it whatever the header says. */
async function hashInflatedStream(obj: FileObject, h: Hash): Promise<number> {
  const src = createReadStream(obj.path, { start: obj.dataOffset, highWaterMark: 1 << 20 });
  const out = pipeline(src, createInflateRaw({ chunkSize: 1 << 16 }), () => {});
  let total = 0;
  try {
    for await (const chunk of out as AsyncIterable<Buffer>) {
      total += chunk.length;
      h.update(chunk);
    }
  } catch (e) {
    throw zlibProblem(e);
  } finally {
    src.destroy();
  }
  return total;
}

/**
 * The checksum the stored object hashes to. Like ostree, an archive object's data is whatever
 * inflates, so damage shows as a checksum mismatch with ostree's "actual"; a size field that
 * lies about intact data (which ostree ignores) is reported on its own.
 */
async function hashContent(obj: FileObject, checksum: string): Promise<string> {
  const h = contentHasher(obj.header);
  if (isLnk(obj.header.mode)) return h.digest("hex");
  if (!obj.compressed) {
    // Small syscalls in a loop are fastest synchronously (see architecture notes); a bare
    // object's size came from lstat, so hash whatever is there now.
    hashPlainData(obj.path, h);
    return h.digest("hex");
  }
  let total: number | undefined;
  if (obj.size <= WHOLE_READ_MAX) {
    // Synchronous inflate: zlib's async API round-trips the thread pool per 16 KiB chunk, which
    // measured 3.5x the CPU of inflating in place for a tree of small files.
    const raw = (obj.raw ?? readFileSync(obj.path)).subarray(obj.dataOffset);
    try {
      const data = inflateRawSync(raw, { maxOutputLength: Math.max(obj.size, 1) });
      h.update(data);
      total = data.length;
    } catch (e) {
      if ((e as { code?: string }).code !== "ERR_BUFFER_TOO_LARGE") throw zlibProblem(e);
      // more data than declared: hash it all, in bounded memory (a deflate bomb stays small)
    }
  }
  if (total === undefined) total = await hashInflatedStream(obj, h);
  const actual = h.digest("hex");
  if (actual === checksum && total !== obj.size)
    throw new Error(`archive header says ${obj.size} bytes, data is ${total} bytes`);
  return actual;
}

/** ostree's wording for an archive header longer than the whole object, if that is the case. */
function archiveHeaderProblem(repo: Repo, checksum: string): string | null {
  if (!repo.archive) return null;
  let fd: number | undefined;
  try {
    fd = openSync(repo.objectPath(checksum, "file"), "r");
    const size = fstatSync(fd).size;
    const b = Buffer.alloc(4);
    if (size < 4 || readSync(fd, b, 0, 4, 0) !== 4) return null;
    const len = b.readUInt32BE(0);
    return len > size ? `File header size ${len} exceeds size ${size}` : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Verify a content object by rebuilding and hashing its canonical stream (streaming big files).
 * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT (`fsck content object CS: …`), IO.
 */
export async function fsckContentObject(repo: Repo, checksum: string): Promise<void> {
  // The common case in one open; anything else (or a mismatch, to be worded) takes the general path.
  if (fastContentChecksum(repo, checksum) === checksum) return;
  const prefix = `fsck content object ${checksum}: `;
  let obj: FileObject;
  try {
    obj = statFileObject(repo, checksum);
  } catch (e) {
    if (isArborError(e, "OBJECT_NOT_FOUND")) throw missing(checksum, "file");
    if (isArborError(e, "OBJECT_CORRUPT"))
      throw corrupt(
        checksum,
        "file",
        prefix,
        archiveHeaderProblem(repo, checksum) ?? stripPrefix(e.message, OWN_PREFIX),
      );
    throw e;
  }
  const mode = obj.header.mode;
  if (!isReg(mode) && !isLnk(mode))
    throw corrupt(checksum, "file", prefix, `Invalid file metadata mode ${mode}; not a valid file type`);
  const bits = modeBitsProblem(mode);
  if (bits) throw corrupt(checksum, "file", prefix, bits);
  let actual: string;
  try {
    actual = await hashContent(obj, checksum);
  } catch (e) {
    if (isArborError(e) && e.code !== "OBJECT_CORRUPT") throw e;
    const msg = e instanceof Error ? e.message : String(e);
    if (!isArborError(e) && (e as NodeJS.ErrnoException).code === "ENOENT") throw missing(checksum, "file");
    throw corrupt(checksum, "file", prefix, stripPrefix(msg, OWN_PREFIX));
  }
  if (actual !== checksum) {
    throw corrupt(
      checksum,
      "file",
      prefix,
      `Corrupted file object; checksum expected='${checksum}' actual='${actual}'`,
    );
  }
}

/**
 * Verify any object (dispatches on type).
 * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT, IO.
 */
export async function fsckObject(repo: Repo, type: ObjectType, checksum: string): Promise<void> {
  if (type === "file") await fsckContentObject(repo, checksum);
  else fsckMetadataObject(repo, type, checksum);
}
