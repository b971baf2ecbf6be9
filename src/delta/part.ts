/**
 * Static delta part files (fact sheet §6.3): one compression byte (`0` none, `x` xz) and then the
 * payload `(a(uuu)aa(ayay)ayay)` = modes table (uid, gid, mode, big-endian), xattr table, the
 * data blob, and the operation stream. A part's SHA-256 (over the whole file) and sizes are
 * given by its superblock header and are checked before anything in it is trusted.
 */
import { sha256Hex } from "../core/checksum.js";
import type { Xattrs } from "../core/content-header.js";
import { xattrsFromGV, xattrsToGV } from "../core/content-header.js";
import { ArborError } from "../errors.js";
import { bswap32 } from "../gvariant/formats.js";
import { deserialize, type GVValue, serialize } from "../gvariant/index.js";
import type { DeltaPartHeader } from "./superblock.js";
import { xzCompress, xzDecompress } from "./xz.js";

/** GVariant type of a decompressed part payload. */
export const PART_PAYLOAD = "(a(uuu)aa(ayay)ayay)";

/** Ownership and mode of content objects, by index. */
export interface PartMode {
  uid: number;
  gid: number;
  mode: number;
}

/** A decoded part payload. */
export interface PartPayload {
  modes: PartMode[];
  xattrs: Xattrs[];
  blob: Uint8Array;
  ops: Uint8Array;
}

function corrupt(detail: string, cause?: unknown): ArborError {
  return new ArborError("OBJECT_CORRUPT", `Invalid static delta part: ${detail}`, { cause });
}

/** Decode an uncompressed payload. @throws ArborError OBJECT_CORRUPT */
export function decodePartPayload(b: Uint8Array): PartPayload {
  let v: [Array<[number, number, number]>, GVValue[], Uint8Array, Uint8Array];
  try {
    v = deserialize(PART_PAYLOAD, b) as typeof v;
  } catch (e) {
    throw corrupt(e instanceof Error ? e.message : String(e), e);
  }
  const [modes, xattrs, blob, ops] = v;
  return {
    modes: modes.map(([uid, gid, mode]) => ({ uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode) })),
    xattrs: xattrs.map((x) => {
      try {
        return xattrsFromGV(x);
      } catch (e) {
        throw corrupt(`bad xattr table: ${e instanceof Error ? e.message : e}`, e);
      }
    }),
    blob,
    ops,
  };
}

/** Encode a payload (uncompressed). */
export function encodePartPayload(p: PartPayload): Uint8Array {
  return serialize(PART_PAYLOAD, [
    p.modes.map((m) => [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode)]),
    p.xattrs.map((x) => xattrsToGV(x)),
    p.blob,
    p.ops,
  ]);
}

/**
 * How far a part may decompress. The header's "uncompressed size" is the total size of the
 * objects the part rebuilds (not of the payload); a payload holds at most that much data plus
 * its tables and operations, or bsdiff patches a little larger than their objects.
 */
export function payloadLimit(h: DeltaPartHeader): number {
  return Math.min(2 * h.uncompressedSize + 16 * 1024 * 1024, 2 ** 31 - 1);
}

/**
 * Check a part file against its header (SHA-256, size), decompress it (bounded by
 * {@link payloadLimit}) and decode it.
 * @throws ArborError OBJECT_CORRUPT (checksum, size, compression, format), UNSUPPORTED (no xz)
 */
export async function openPart(
  file: Uint8Array,
  header: DeltaPartHeader,
  index: number,
): Promise<PartPayload> {
  const actual = sha256Hex(file);
  if (actual !== header.checksum)
    throw corrupt(`part ${index} checksum is ${actual}, expected ${header.checksum}`);
  if (file.length !== header.compressedSize)
    throw corrupt(`part ${index} is ${file.length} bytes, the superblock says ${header.compressedSize}`);
  if (file.length === 0) throw corrupt(`part ${index} is empty`);
  const body = file.subarray(1);
  let payload: Uint8Array;
  if (file[0] === 0) payload = body;
  else if (file[0] === 0x78) payload = await xzDecompress(body, payloadLimit(header));
  else throw corrupt(`part ${index} has unknown compression type ${file[0]}`);
  if (payload.length > payloadLimit(header))
    throw corrupt(`part ${index} payload is ${payload.length} bytes, more than its objects can need`);
  return decodePartPayload(payload);
}

/** Encode a part file, xz-compressed (as ostree writes them) unless `compress` is false. */
export async function encodePartFile(p: PartPayload, compress = true): Promise<Uint8Array> {
  const payload = encodePartPayload(p);
  const body = compress ? await xzCompress(payload) : payload;
  const file = new Uint8Array(body.length + 1);
  file[0] = compress ? 0x78 : 0;
  file.set(body, 1);
  return file;
}
