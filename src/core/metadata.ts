/**
 * Metadata objects (fact sheet §2.2–2.4, §2.6): commit, dirtree, dirmeta, detached metadata and
 * tombstones, as typed values, with encoders producing OSTree's exact bytes and decoders that
 * validate everything a hostile producer could get wrong (names, sizes, order, modes).
 */
import { ArborError } from "../errors.js";
import { bswap32, bswap64, COMMIT, DIRMETA, DIRTREE, VARDICT } from "../gvariant/formats.js";
import { deserialize, type GVValue, serialize, Variant } from "../gvariant/index.js";
import { checksumFromBytes, checksumToBytes, compareNames, sha256Hex } from "./checksum.js";
import { type Xattrs, xattrsFromGV, xattrsToGV } from "./content-header.js";
import { decodeDirtreeFast } from "./dirtree-fast.js";
import { isValidDirMode } from "./mode.js";
import { filenameProblem } from "./validate.js";

/** An `a{sv}` dictionary: ordered (key, variant) pairs; duplicates are legal, lookup takes the first. */
export type VarDict = Array<[string, Variant]>;

/** First value for `key`, or undefined. */
export function lookup(d: VarDict, key: string): Variant | undefined {
  for (const [k, v] of d) if (k === key) return v;
  return undefined;
}

/** `d` with `key` set to `value` (replacing the first entry with that key, else appended). */
export function setKey(d: VarDict, key: string, value: Variant): VarDict {
  const i = d.findIndex(([k]) => k === key);
  if (i < 0) return [...d, [key, value]];
  const out = [...d];
  out[i] = [key, value];
  return out;
}

export function encodeVarDict(d: VarDict): Uint8Array {
  return serialize(VARDICT, d);
}

/** @throws ArborError OBJECT_CORRUPT */
export function decodeVarDict(b: Uint8Array, what = "metadata"): VarDict {
  try {
    return deserialize(VARDICT, b) as VarDict;
  } catch (e) {
    throw corrupt(what, e);
  }
}

function corrupt(what: string, e: unknown): ArborError {
  const msg = e instanceof Error ? e.message : String(e);
  return new ArborError("OBJECT_CORRUPT", `Invalid ${what}: ${msg}`, { cause: e });
}

export interface Commit {
  metadata: VarDict;
  parent: string | null;
  related: Array<[string, string]>;
  subject: string;
  body: string;
  /** Seconds since the epoch, UTC. */
  timestamp: number;
  rootTree: string;
  rootMeta: string;
}

export function encodeCommit(c: Commit): Uint8Array {
  return serialize(COMMIT, [
    c.metadata,
    c.parent ? checksumToBytes(c.parent) : new Uint8Array(0),
    c.related.map(([n, cs]) => [n, checksumToBytes(cs)]),
    c.subject,
    c.body,
    bswap64(BigInt(c.timestamp)),
    checksumToBytes(c.rootTree),
    checksumToBytes(c.rootMeta),
  ]);
}

/** @throws ArborError OBJECT_CORRUPT naming the commit (if `name` given) and what is wrong. */
export function decodeCommit(b: Uint8Array, name = "commit"): Commit {
  let v: GVValue[];
  try {
    v = deserialize(COMMIT, b) as GVValue[];
  } catch (e) {
    throw corrupt(name, e);
  }
  const [metadata, parent, related, subject, body, ts, tree, meta] = v as [
    VarDict,
    Uint8Array,
    Array<[string, Uint8Array]>,
    string,
    string,
    bigint,
    Uint8Array,
    Uint8Array,
  ];
  for (const [k] of metadata) if (k.length === 0) throw corrupt(name, "empty metadata key");
  if (parent.length !== 0 && parent.length !== 32)
    throw corrupt(name, `parent checksum has ${parent.length} bytes`);
  if (tree.length !== 32 || meta.length !== 32) throw corrupt(name, "root checksums must be 32 bytes");
  // a signed 64-bit number (ostree reads it as gint64: SOURCE_DATE_EPOCH=-5 is 1969), clamped to
  // what a JS number holds exactly
  const t = BigInt.asIntN(64, bswap64(ts));
  const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
  return {
    metadata,
    parent: parent.length ? checksumFromBytes(parent) : null,
    related: related.map(([n, c]) => {
      if (c.length !== 32) throw corrupt(name, "related checksum must be 32 bytes");
      return [n, checksumFromBytes(c)];
    }),
    subject,
    body,
    timestamp: t > maxSafe ? Number.MAX_SAFE_INTEGER : t < -maxSafe ? -Number.MAX_SAFE_INTEGER : Number(t),
    rootTree: checksumFromBytes(tree),
    rootMeta: checksumFromBytes(meta),
  };
}

/** "ContentChecksum" of `log`/`show`: SHA-256 of root dirtree ‖ root dirmeta raw bytes. */
export function contentChecksum(c: Commit): string {
  const b = new Uint8Array(64);
  b.set(checksumToBytes(c.rootTree), 0);
  b.set(checksumToBytes(c.rootMeta), 32);
  return sha256Hex(b);
}

export interface DirtreeFile {
  name: string;
  checksum: string;
}
export interface DirtreeDir {
  name: string;
  tree: string;
  meta: string;
}
export interface Dirtree {
  files: DirtreeFile[];
  dirs: DirtreeDir[];
}

/** Encode a dirtree; entries are sorted here (strcmp order) so callers need not. */
export function encodeDirtree(t: Dirtree): Uint8Array {
  const files = [...t.files].sort((a, b) => compareNames(a.name, b.name));
  const dirs = [...t.dirs].sort((a, b) => compareNames(a.name, b.name));
  return serialize(DIRTREE, [
    files.map((f) => [f.name, checksumToBytes(f.checksum)]),
    dirs.map((d) => [d.name, checksumToBytes(d.tree), checksumToBytes(d.meta)]),
  ]);
}

/**
 * Decode and validate a dirtree: every name a valid single path component, checksums 32 bytes,
 * each list strictly sorted (so no duplicates), and no name both a file and a directory.
 * @throws ArborError OBJECT_CORRUPT
 */
export function decodeDirtree(b: Uint8Array, name = "dirtree"): Dirtree {
  // the common case, read without the generic machinery; anything it does not vouch for is
  // decided (and reported) by the generic path
  return decodeDirtreeFast(b) ?? decodeDirtreeGeneric(b, name);
}

/**
 * {@link decodeDirtree} through the generic GVariant reader only (exported for the tests that
 * hold the fast reader to it).
 * @internal
 * @throws ArborError OBJECT_CORRUPT
 */
export function decodeDirtreeGeneric(b: Uint8Array, name = "dirtree"): Dirtree {
  let v: GVValue[];
  try {
    v = deserialize(DIRTREE, b) as GVValue[];
  } catch (e) {
    throw corrupt(name, e);
  }
  const [rf, rd] = v as [Array<[string, Uint8Array]>, Array<[string, Uint8Array, Uint8Array]>];
  const files: DirtreeFile[] = [];
  const dirs: DirtreeDir[] = [];
  for (const [n, c] of rf) {
    const bad = filenameProblem(n);
    if (bad) throw corrupt(name, bad);
    if (c.length !== 32) throw corrupt(name, `checksum of "${n}" is ${c.length} bytes`);
    const prev = files[files.length - 1];
    if (prev && compareNames(prev.name, n) >= 0) {
      throw corrupt(name, prev.name === n ? `duplicate entry "${n}"` : `entries not sorted at "${n}"`);
    }
    files.push({ name: n, checksum: checksumFromBytes(c) });
  }
  for (const [n, t, m] of rd) {
    const bad = filenameProblem(n);
    if (bad) throw corrupt(name, bad);
    if (t.length !== 32 || m.length !== 32) throw corrupt(name, `checksums of "${n}" must be 32 bytes`);
    const prev = dirs[dirs.length - 1];
    if (prev && compareNames(prev.name, n) >= 0) {
      throw corrupt(name, prev.name === n ? `duplicate entry "${n}"` : `entries not sorted at "${n}"`);
    }
    dirs.push({ name: n, tree: checksumFromBytes(t), meta: checksumFromBytes(m) });
  }
  if (files.length && dirs.length) {
    const fileNames = new Set(files.map((f) => f.name));
    for (const d of dirs) if (fileNames.has(d.name)) throw corrupt(name, `duplicate entry "${d.name}"`);
  }
  return { files, dirs };
}

export interface Dirmeta {
  uid: number;
  gid: number;
  /** Full mode including S_IFDIR. */
  mode: number;
  xattrs: Xattrs;
}

export function encodeDirmeta(m: Dirmeta): Uint8Array {
  if (!isValidDirMode(m.mode))
    throw new ArborError("BAD_NAME", `Invalid directory mode 0${m.mode.toString(8)}`);
  return serialize(DIRMETA, [bswap32(m.uid), bswap32(m.gid), bswap32(m.mode), xattrsToGV(m.xattrs)]);
}

/** @throws ArborError OBJECT_CORRUPT */
export function decodeDirmeta(b: Uint8Array, name = "dirmeta"): Dirmeta {
  let v: GVValue[];
  try {
    v = deserialize(DIRMETA, b) as GVValue[];
  } catch (e) {
    throw corrupt(name, e);
  }
  const [uid, gid, mode, xattrs] = v as [number, number, number, GVValue];
  const m = { uid: bswap32(uid), gid: bswap32(gid), mode: bswap32(mode), xattrs: xattrsFromGV(xattrs) };
  if (!isValidDirMode(m.mode)) throw corrupt(name, `invalid directory mode 0${m.mode.toString(8)}`);
  return m;
}

/** Tombstone for a deleted commit: `{"commit": <ay "HEX\0">}`. */
export function encodeTombstone(commit: string): Uint8Array {
  return encodeVarDict([["commit", new Variant("ay", new TextEncoder().encode(`${commit}\0`))]]);
}
