/**
 * The static delta superblock (fact sheet §6.2):
 * `(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))` = metadata (user keys, then
 * `ostree.endianness` 'l'|'B', the to-commit's detached metadata under `deltas/…/commitmeta` and
 * inline parts under `deltas/…/N`), generation timestamp (big-endian), from (empty for a from-scratch delta), to, the whole
 * to-commit embedded, recursive deltas (always empty), part headers, fallback objects. The part and
 * fallback sizes are in the byte order `ostree.endianness` names.
 *
 * A signed superblock file is `(taya{sv})` = (magic "OSTSGNDT" big-endian, the superblock bytes,
 * signatures by engine key such as `ostree.sign.ed25519`).
 */
import { checksumFromBytes, checksumToBytes, sha256Hex } from "../core/checksum.js";
import { lookup, type VarDict } from "../core/metadata.js";
import { OBJECT_TYPE_ENUM, type ObjectType, objectTypeFromEnum } from "../core/object-type.js";
import { ArborError } from "../errors.js";
import { bswap32, bswap64, COMMIT } from "../gvariant/formats.js";
import { deserialize, type GVValue, serialize, Variant } from "../gvariant/index.js";

/** GVariant type of a superblock. */
export const SUPERBLOCK = "(a{sv}tayay(a{sv}aya(say)sstayay)aya(uayttay)a(yaytt))";
/** GVariant type of a signed superblock file. */
export const SIGNED_SUPERBLOCK = "(taya{sv})";
/** "OSTSGNDT" read as a big-endian integer. */
export const SIGNED_MAGIC = 0x4f535453474e4454n;
/** Superblock metadata key of the byte order of the *host* fields. */
export const ENDIANNESS_KEY = "ostree.endianness";

/** An object named in a part header or fallback list. */
export interface DeltaObject {
  type: ObjectType;
  checksum: string;
}

/** One part header. */
export interface DeltaPartHeader {
  version: number;
  /** SHA-256 (hex) of the part file (compression byte + payload). */
  checksum: string;
  compressedSize: number;
  uncompressedSize: number;
  objects: DeltaObject[];
}

/** An object fetched loose instead of carried in a part. */
export interface DeltaFallback extends DeltaObject {
  compressedSize: number;
  uncompressedSize: number;
}

/** A decoded superblock. */
export interface Superblock {
  /** The whole metadata dictionary, as stored. */
  metadata: VarDict;
  timestamp: number;
  from: string | null;
  to: string;
  /** The to-commit object's bytes (their SHA-256 is `to`). */
  commit: Uint8Array;
  parts: DeltaPartHeader[];
  fallbacks: DeltaFallback[];
  /** Byte order of the part/fallback sizes: true when `ostree.endianness` is 'B'. */
  bigEndian: boolean;
  /** True when the superblock has no `ostree.endianness` (old deltas) and the order was guessed. */
  endiannessGuessed?: boolean;
}

function corrupt(detail: string, cause?: unknown): ArborError {
  return new ArborError("OBJECT_CORRUPT", `Invalid static delta superblock: ${detail}`, { cause });
}

function csum(b: Uint8Array, what: string): string {
  if (b.length !== 32) throw corrupt(`${what} is ${b.length} bytes, not 32`);
  return checksumFromBytes(b);
}

function num(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw corrupt(`${what} ${n} is out of range`);
  return Number(n);
}

/** Objects packed as 33-byte (type, raw checksum) records. @throws ArborError OBJECT_CORRUPT */
export function unpackObjects(b: Uint8Array): DeltaObject[] {
  if (b.length % 33 !== 0) throw corrupt(`object list of ${b.length} bytes is not a multiple of 33`);
  const out: DeltaObject[] = [];
  for (let i = 0; i < b.length; i += 33) {
    let type: ObjectType;
    try {
      type = objectTypeFromEnum(b[i]!);
    } catch (e) {
      throw corrupt(`unknown object type ${b[i]}`, e);
    }
    if (type !== "file" && type !== "dirtree" && type !== "dirmeta" && type !== "commit")
      throw corrupt(`object type ${type} cannot be in a delta`);
    out.push({ type, checksum: checksumFromBytes(b.subarray(i + 1, i + 33)) });
  }
  return out;
}

/** Pack objects as 33-byte records. */
export function packObjects(objs: DeltaObject[]): Uint8Array {
  const out = new Uint8Array(objs.length * 33);
  objs.forEach((o, i) => {
    out[i * 33] = OBJECT_TYPE_ENUM[o.type];
    out.set(checksumToBytes(o.checksum), i * 33 + 1);
  });
  return out;
}

/**
 * If `file` is a signed superblock, its inner superblock bytes and signatures; else null.
 * @throws ArborError OBJECT_CORRUPT (starts with the magic but does not decode)
 */
export function unwrapSignedSuperblock(
  file: Uint8Array,
): { superblock: Uint8Array; signatures: VarDict } | null {
  if (file.length < 8 || Buffer.from(file.subarray(0, 8)).toString("latin1") !== "OSTSGNDT") return null;
  try {
    const [, sb, sigs] = deserialize(SIGNED_SUPERBLOCK, file) as [bigint, Uint8Array, VarDict];
    return { superblock: sb, signatures: sigs };
  } catch (e) {
    throw corrupt(`signed superblock does not decode: ${e instanceof Error ? e.message : e}`, e);
  }
}

/** Wrap superblock bytes with signatures. */
export function wrapSignedSuperblock(superblock: Uint8Array, signatures: VarDict): Uint8Array {
  return serialize(SIGNED_SUPERBLOCK, [bswap64(SIGNED_MAGIC), superblock, signatures]);
}

/**
 * Decode a superblock (or a signed superblock file). Checks that the embedded commit hashes to
 * `to`, that checksums are 32 bytes and sizes are in range.
 * @throws ArborError OBJECT_CORRUPT
 */
export function decodeSuperblock(file: Uint8Array): Superblock {
  const bytes = unwrapSignedSuperblock(file)?.superblock ?? file;
  let v: GVValue[];
  try {
    v = deserialize(SUPERBLOCK, bytes) as GVValue[];
  } catch (e) {
    throw corrupt(e instanceof Error ? e.message : String(e), e);
  }
  const [meta, ts, from, to, commitV, , partsV, fallbacksV] = v as [
    VarDict,
    bigint,
    Uint8Array,
    Uint8Array,
    GVValue,
    Uint8Array,
    Array<[number, Uint8Array, bigint, bigint, Uint8Array]>,
    Array<[number, Uint8Array, bigint, bigint]>,
  ];
  const endian = lookup(meta, ENDIANNESS_KEY);
  let bigEndian = false;
  if (endian) {
    if (endian.type !== "y" || (endian.value !== 0x6c && endian.value !== 0x42))
      throw corrupt(`invalid ${ENDIANNESS_KEY}`);
    bigEndian = endian.value === 0x42;
  } else {
    // Deltas written before the key existed: real sizes are far below 2^32, so the byte order
    // that gives the smaller total is the one they were written in.
    let le = 0n;
    let be = 0n;
    for (const [, , comp, uncomp] of partsV) {
      le += comp + uncomp;
      be += bswap64(comp) + bswap64(uncomp);
    }
    bigEndian = be < le;
  }
  const u32 = (n: number): number => (bigEndian ? bswap32(n) : n);
  const u64 = (n: bigint, what: string): number => num(bigEndian ? bswap64(n) : n, what);
  const toHex = csum(to, "to checksum");
  const commit = serialize(COMMIT, commitV);
  const actual = sha256Hex(commit);
  if (actual !== toHex) throw corrupt(`embedded commit hashes to ${actual}, not ${toHex}`);
  const parts = partsV.map(([ver, c, comp, uncomp, objs], i): DeltaPartHeader => {
    const version = u32(ver);
    if (version !== 0) throw corrupt(`part ${i} has unsupported version ${version}`);
    return {
      version,
      checksum: csum(c, `part ${i} checksum`),
      compressedSize: u64(comp, `part ${i} size`),
      uncompressedSize: u64(uncomp, `part ${i} uncompressed size`),
      objects: unpackObjects(objs),
    };
  });
  const fallbacks = fallbacksV.map(([t, c, comp, uncomp], i): DeltaFallback => {
    let type: ObjectType;
    try {
      type = objectTypeFromEnum(t);
    } catch (e) {
      throw corrupt(`fallback ${i} has unknown object type ${t}`, e);
    }
    return {
      type,
      checksum: csum(c, `fallback ${i} checksum`),
      compressedSize: u64(comp, `fallback ${i} size`),
      uncompressedSize: u64(uncomp, `fallback ${i} uncompressed size`),
    };
  });
  return {
    metadata: meta,
    timestamp: num(bswap64(ts), "timestamp"),
    from: from.length === 0 ? null : csum(from, "from checksum"),
    to: toHex,
    commit,
    parts,
    fallbacks,
    bigEndian,
    ...(endian ? {} : { endiannessGuessed: true }),
  };
}

/**
 * Encode a superblock. `metadata` should end with `ostree.endianness` (see {@link withEndianness});
 * sizes are written in the order `bigEndian` says.
 */
export function encodeSuperblock(sb: Superblock): Uint8Array {
  const u32 = (n: number): number => (sb.bigEndian ? bswap32(n) : n);
  const u64 = (n: number): bigint => (sb.bigEndian ? bswap64(BigInt(n)) : BigInt(n));
  return serialize(SUPERBLOCK, [
    sb.metadata,
    bswap64(BigInt(sb.timestamp)),
    sb.from ? checksumToBytes(sb.from) : new Uint8Array(0),
    checksumToBytes(sb.to),
    deserialize(COMMIT, sb.commit),
    new Uint8Array(0),
    sb.parts.map((p) => [
      u32(p.version),
      checksumToBytes(p.checksum),
      u64(p.compressedSize),
      u64(p.uncompressedSize),
      packObjects(p.objects),
    ]),
    sb.fallbacks.map((f) => [
      OBJECT_TYPE_ENUM[f.type],
      checksumToBytes(f.checksum),
      u64(f.compressedSize),
      u64(f.uncompressedSize),
    ]),
  ]);
}

/** `meta` with `ostree.endianness` appended ('B' when big-endian). */
export function withEndianness(meta: VarDict, bigEndian: boolean): VarDict {
  return [
    ...meta.filter(([k]) => k !== ENDIANNESS_KEY),
    [ENDIANNESS_KEY, new Variant("y", bigEndian ? 0x42 : 0x6c)],
  ];
}
