/**
 * Content objects (fact sheet §2.5, §3.4): the file header and the canonical content stream
 * `u32 BE header length | 4 zero bytes | (uuuusa(ayay)) header | data` whose SHA-256 names the object,
 * and the archive `.filez` header that adds the uncompressed size.
 */
import type { Hash } from "node:crypto";
import { ArborError } from "../errors.js";
import { ARCHIVE_FILE_HEADER, bswap32, bswap64, DIRMETA, FILE_HEADER } from "../gvariant/formats.js";
import { deserialize, serialize } from "../gvariant/index.js";
import type { GVValue } from "../gvariant/serialize.js";
import { crypto } from "../io/node-builtins.js";
import { compareNames } from "./checksum.js";
import { isLnk, isReg, isValidContentMode } from "./mode.js";

/** Extended attributes: (name, value) sorted by name. Names carry no NUL here; it is added on encoding. */
export type Xattrs = Array<[string, Uint8Array]>;

/** What a content object records besides its data. */
export interface FileHeader {
  uid: number;
  gid: number;
  /** Full st_mode: S_IFREG|perms or S_IFLNK|0777. */
  mode: number;
  /** Symlink target ("" for regular files). */
  symlinkTarget: string;
  xattrs: Xattrs;
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Sort xattrs by name (strcmp order) and reject duplicates or empty names. */
export function normalizeXattrs(x: Xattrs): Xattrs {
  const out = [...x].sort((a, b) => compareNames(a[0], b[0]));
  for (let i = 0; i < out.length; i++) {
    if (out[i]![0].length === 0) throw new ArborError("BAD_NAME", "Invalid xattr: empty name");
    if (out[i]![0].includes("\0"))
      throw new ArborError("BAD_NAME", `Invalid xattr "${out[i]![0]}": name contains NUL`);
    if (i > 0 && out[i - 1]![0] === out[i]![0])
      throw new ArborError("BAD_NAME", `Duplicate xattr "${out[i]![0]}"`);
  }
  return out;
}

/** Xattrs → GVariant a(ayay) value: names include their trailing NUL, values are raw. */
export function xattrsToGV(x: Xattrs): GVValue[] {
  return x.map(([name, value]) => {
    // a NUL inside the name would silently truncate it for every reader
    if (name.length === 0 || name.includes("\0"))
      throw new ArborError("BAD_NAME", `Invalid xattr name ${JSON.stringify(name)}`);
    return [enc.encode(`${name}\0`), value];
  });
}

/** GVariant a(ayay) value → Xattrs. @throws ArborError OBJECT_CORRUPT */
export function xattrsFromGV(v: GVValue): Xattrs {
  const arr = v as [Uint8Array, Uint8Array][];
  const out: Xattrs = [];
  for (const [nameBytes, value] of arr) {
    if (nameBytes.length < 2 || nameBytes[nameBytes.length - 1] !== 0) {
      throw new ArborError("OBJECT_CORRUPT", "Invalid xattr name: not NUL-terminated or empty");
    }
    let name: string;
    try {
      name = dec.decode(nameBytes.subarray(0, nameBytes.length - 1));
    } catch {
      throw new ArborError("OBJECT_CORRUPT", "Invalid xattr name: not UTF-8");
    }
    if (name.includes("\0")) throw new ArborError("OBJECT_CORRUPT", "Invalid xattr name: contains NUL");
    out.push([name, value]);
  }
  return out;
}

/** Deserialize a header, reporting malformed bytes as OBJECT_CORRUPT (as the metadata decoders do). */
function parseHeader(type: string, b: Uint8Array): GVValue[] {
  try {
    return deserialize(type, b) as GVValue[];
  } catch (e) {
    throw new ArborError("OBJECT_CORRUPT", `Invalid content header: ${(e as Error).message}`, { cause: e });
  }
}

function checkHeader(h: FileHeader): void {
  if (!isValidContentMode(h.mode)) {
    throw new ArborError("OBJECT_CORRUPT", `Invalid content mode 0${h.mode.toString(8)}`);
  }
  if (isLnk(h.mode) && h.symlinkTarget.length === 0)
    throw new ArborError("OBJECT_CORRUPT", "Symlink with empty target");
  if (isReg(h.mode) && h.symlinkTarget.length !== 0) {
    throw new ArborError("OBJECT_CORRUPT", "Regular file header with a symlink target");
  }
}

/** Serialize the `(uuuusa(ayay))` header (fields BE, rdev 0). */
export function encodeFileHeader(h: FileHeader): Uint8Array {
  checkHeader(h);
  return serialize(FILE_HEADER, [
    bswap32(h.uid),
    bswap32(h.gid),
    bswap32(h.mode),
    0,
    h.symlinkTarget,
    xattrsToGV(h.xattrs),
  ]);
}

/** Parse a `(uuuusa(ayay))` header. @throws ArborError OBJECT_CORRUPT */
export function decodeFileHeader(b: Uint8Array): FileHeader {
  const [uid, gid, mode, rdev, target, xattrs] = parseHeader(FILE_HEADER, b) as [
    number,
    number,
    number,
    number,
    string,
    GVValue,
  ];
  if (rdev !== 0) throw new ArborError("OBJECT_CORRUPT", "Content header has non-zero rdev");
  const h = {
    uid: bswap32(uid),
    gid: bswap32(gid),
    mode: bswap32(mode),
    symlinkTarget: target,
    xattrs: xattrsFromGV(xattrs),
  };
  checkHeader(h);
  return h;
}

/** Prefix a serialized header with its u32 BE length and 4 zero bytes. */
function framed(header: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length);
  new DataView(out.buffer).setUint32(0, header.length, false);
  out.set(header, 8);
  return out;
}

/** The start of the canonical content stream: length, padding, header. Data follows. */
export function contentStreamPrefix(h: FileHeader): Uint8Array {
  return framed(encodeFileHeader(h));
}

/** Incremental content checksum: feed the data, get the object name. */
export function contentHasher(h: FileHeader): Hash {
  return crypto().createHash("sha256").update(contentStreamPrefix(h));
}

/** Checksum of a content object whose data is entirely in memory (`data` empty for symlinks). */
export function checksumContent(h: FileHeader, data: Uint8Array = new Uint8Array(0)): string {
  return contentHasher(h).update(data).digest("hex");
}

/** The `.filez` header: framed `(tuuuusa(ayay))` with the uncompressed size first. */
export function encodeArchiveHeader(h: FileHeader, size: number): Uint8Array {
  checkHeader(h);
  return framed(
    serialize(ARCHIVE_FILE_HEADER, [
      bswap64(BigInt(size)),
      bswap32(h.uid),
      bswap32(h.gid),
      bswap32(h.mode),
      0,
      h.symlinkTarget,
      xattrsToGV(h.xattrs),
    ]),
  );
}

/** Read a framed header from the start of `b` (u32 BE length, 4 bytes, header). Returns header bytes and data offset. */
export function splitFramedHeader(b: Uint8Array, what: string): { header: Uint8Array; dataOffset: number } {
  if (b.length < 8) throw new ArborError("OBJECT_CORRUPT", `${what}: truncated content header`);
  const len = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, false);
  if (len > b.length - 8)
    throw new ArborError("OBJECT_CORRUPT", `${what}: header length ${len} exceeds object size`);
  return { header: b.subarray(8, 8 + len), dataOffset: 8 + len };
}

/** Parse a `.filez` header. @throws ArborError OBJECT_CORRUPT */
export function decodeArchiveHeader(b: Uint8Array): { header: FileHeader; size: number } {
  const [size, uid, gid, mode, rdev, target, xattrs] = parseHeader(ARCHIVE_FILE_HEADER, b) as [
    bigint,
    number,
    number,
    number,
    number,
    string,
    GVValue,
  ];
  if (rdev !== 0) throw new ArborError("OBJECT_CORRUPT", "Content header has non-zero rdev");
  const n = bswap64(size);
  if (n > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ArborError("OBJECT_CORRUPT", "Content size out of range");
  const header = {
    uid: bswap32(uid),
    gid: bswap32(gid),
    mode: bswap32(mode),
    symlinkTarget: target,
    xattrs: xattrsFromGV(xattrs),
  };
  checkHeader(header);
  return { header, size: Number(n) };
}

/** bare-user `user.ostreemeta` xattr value: `(uuua(ayay))` BE with the full mode (fact sheet §3.3). */
export function encodeUserMeta(h: FileHeader): Uint8Array {
  return serialize(DIRMETA, [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), xattrsToGV(h.xattrs)]);
}

/** Parse `user.ostreemeta`. @throws ArborError OBJECT_CORRUPT */
export function decodeUserMeta(b: Uint8Array): { uid: number; gid: number; mode: number; xattrs: Xattrs } {
  const [uid, gid, mode, xattrs] = parseHeader(DIRMETA, b) as [number, number, number, GVValue];
  return { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFromGV(xattrs) };
}
