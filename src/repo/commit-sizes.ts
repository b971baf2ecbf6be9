/**
 * The `ostree.sizes` commit metadata (`commit --generate-sizes`, read by `show --print-sizes`):
 * an `aay`, one entry per object the commit's tree reaches (commit object excluded, each object
 * once), sorted by checksum. Each entry is the raw 32-byte checksum, then two unsigned LEB128
 * varints — the archived size (the loose object file's size in the archive repo) and the unpacked
 * size (metadata: its length; a regular file: its data length; a symlink: its target's length) —
 * then one byte, the object type enum (1 file, 2 dirtree, 3 dirmeta). Entries written by older
 * producers lack the type byte; they name content objects. As ostree, sizes are only generated in
 * archive repositories (elsewhere there is no compressed size to record).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { checksumFromBytes, checksumToBytes } from "../core/checksum.js";
import { decodeDirtree, lookup, type VarDict } from "../core/metadata.js";
import { OBJECT_TYPE_ENUM, type ObjectType, objectTypeFromEnum } from "../core/object-type.js";
import { encodeVarint, readVarint } from "../core/varint.js";
import { ArborError, fromSystemError } from "../errors.js";
import { Variant } from "../gvariant/serialize.js";
import { statArchiveFile } from "./read-object.js";
import { MAX_METADATA_SIZE, type Repo } from "./repo.js";
import type { Transaction } from "./transaction.js";

/** The metadata key holding the sizes. */
export const SIZES_KEY = "ostree.sizes";

/** One object's sizes. */
export interface SizesEntry {
  checksum: string;
  type: ObjectType;
  /** Size of the object as stored in an archive repo (compressed for content). */
  archived: number;
  /** Size once unpacked (file data length, symlink target length, metadata length). */
  unpacked: number;
}

/** Serialize entries as the `aay` value of `ostree.sizes` (sorted by checksum here). */
export function encodeSizes(entries: SizesEntry[]): Variant {
  const sorted = [...entries].sort((a, b) =>
    a.checksum < b.checksum ? -1 : a.checksum > b.checksum ? 1 : 0,
  );
  return new Variant(
    "aay",
    sorted.map((e) =>
      Uint8Array.from([
        ...checksumToBytes(e.checksum),
        ...encodeVarint(e.archived),
        ...encodeVarint(e.unpacked),
        OBJECT_TYPE_ENUM[e.type],
      ]),
    ),
  );
}

/**
 * Parse an `ostree.sizes` value.
 * @throws ArborError OBJECT_CORRUPT for a value that is not `aay`, a short entry, a truncated
 * varint, trailing bytes or an object type other than file, dirtree or dirmeta.
 */
export function decodeSizes(v: Variant): SizesEntry[] {
  if (v.type !== "aay")
    throw new ArborError("OBJECT_CORRUPT", `Invalid ${SIZES_KEY}: type ${v.type}, expected aay`);
  return (v.value as Uint8Array[]).map((b, i) => {
    const what = `Invalid ${SIZES_KEY} entry ${i}`;
    if (b.length < 34) throw new ArborError("OBJECT_CORRUPT", `${what}: ${b.length} bytes is too short`);
    const cur = { bytes: b, pos: 32 };
    let archived: number;
    let unpacked: number;
    try {
      archived = readVarint(cur);
      unpacked = readVarint(cur);
    } catch {
      throw new ArborError("OBJECT_CORRUPT", `${what}: truncated or oversized varint`);
    }
    let type: ObjectType = "file";
    if (cur.pos < b.length) {
      const n = b[cur.pos++]!;
      if (cur.pos !== b.length) throw new ArborError("OBJECT_CORRUPT", `${what}: trailing bytes`);
      type = n >= 1 && n <= 3 ? objectTypeFromEnum(n) : badType(what, n);
    }
    return { checksum: checksumFromBytes(b.subarray(0, 32)), type, archived, unpacked };
  });
}

function tooBig(cs: string): never {
  throw new ArborError("OBJECT_CORRUPT", `Object ${cs}.dirtree is over the ${MAX_METADATA_SIZE} byte limit`);
}

function badType(what: string, n: number): never {
  throw new ArborError("OBJECT_CORRUPT", `${what}: unexpected object type ${n}`);
}

/**
 * Gather the sizes of every object under a root dirtree/dirmeta pair. `objectFile` says where an
 * object is stored (a transaction's staged file, or the repository's loose object).
 * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT, IO
 */
export function gatherTreeSizes(
  root: { tree: string; meta: string },
  objectFile: (type: ObjectType, checksum: string) => string,
): SizesEntry[] {
  const seen = new Map<string, SizesEntry>();
  const fileSize = (type: ObjectType, cs: string): { path: string; size: number } => {
    const path = objectFile(type, cs);
    try {
      return { path, size: statSync(path).size };
    } catch (e) {
      throw fromSystemError(`Cannot generate sizes for ${cs}.${type}`, e);
    }
  };
  const meta = (type: "dirmeta" | "dirtree", cs: string): string => {
    const { path, size } = fileSize(type, cs);
    seen.set(`${cs}.${type}`, { checksum: cs, type, archived: size, unpacked: size });
    return path;
  };
  const stack: Array<{ tree: string; meta: string }> = [root];
  while (stack.length) {
    const d = stack.pop()!;
    if (!seen.has(`${d.meta}.dirmeta`)) meta("dirmeta", d.meta);
    if (seen.has(`${d.tree}.dirtree`)) continue;
    const path = meta("dirtree", d.tree);
    const bytes =
      seen.get(`${d.tree}.dirtree`)!.archived > MAX_METADATA_SIZE ? tooBig(d.tree) : readFileSync(path);
    const dt = decodeDirtree(new Uint8Array(bytes), `dirtree ${d.tree}`);
    for (const f of dt.files) {
      if (seen.has(`${f.checksum}.file`)) continue;
      const { path: fp, size } = fileSize("file", f.checksum);
      const obj = statArchiveFile(fp, f.checksum);
      const unpacked = obj.header.symlinkTarget ? Buffer.byteLength(obj.header.symlinkTarget) : obj.size;
      seen.set(`${f.checksum}.file`, { checksum: f.checksum, type: "file", archived: size, unpacked });
    }
    for (const sub of dt.dirs) stack.push({ tree: sub.tree, meta: sub.meta });
  }
  return [...seen.values()];
}

/**
 * `commit --generate-sizes`: `metadata` with `ostree.sizes` for the tree under `root` appended
 * (last, as ostree adds it after every other key). Unchanged outside archive repositories.
 * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT, IO
 */
export function withSizesMetadata(
  metadata: VarDict,
  root: { tree: string; meta: string },
  tx: Transaction,
): VarDict {
  const repo = tx.repo;
  if (!repo.archive) return metadata;
  const where = (type: ObjectType, cs: string): string => {
    const p = tx.objectFile(type, cs);
    // an object only the parent repo (core.parent) holds is read from there
    if (!existsSync(p) && repo.parent?.hasObject(type, cs)) return repo.parent.objectPath(cs, type);
    return p;
  };
  const sizes = encodeSizes(gatherTreeSizes(root, where));
  return [...metadata.filter(([k]) => k !== SIZES_KEY), [SIZES_KEY, sizes]];
}

/** What a commit's objects weigh, and how much of that the repository still lacks. */
export interface CommitSizesSummary {
  archived: { needed: number; total: number };
  unpacked: { needed: number; total: number };
  objects: { needed: number; total: number };
}

/**
 * Read a commit's `ostree.sizes` and count what is not in `repo` yet (as `show --print-sizes`).
 * @throws ArborError NOT_FOUND "No metadata key ostree.sizes in commit" (ostree's words),
 * OBJECT_CORRUPT for malformed sizes, OBJECT_NOT_FOUND if the commit is absent.
 */
export function summarizeCommitSizes(repo: Repo, commit: string): CommitSizesSummary {
  const v = lookup(repo.loadCommit(commit).metadata, SIZES_KEY);
  if (!v) throw new ArborError("NOT_FOUND", `No metadata key ${SIZES_KEY} in commit`);
  const s: CommitSizesSummary = {
    archived: { needed: 0, total: 0 },
    unpacked: { needed: 0, total: 0 },
    objects: { needed: 0, total: 0 },
  };
  for (const e of decodeSizes(v)) {
    const missing = !repo.hasObject(e.type, e.checksum);
    s.archived.total += e.archived;
    s.unpacked.total += e.unpacked;
    s.objects.total++;
    if (!missing) continue;
    s.archived.needed += e.archived;
    s.unpacked.needed += e.unpacked;
    s.objects.needed++;
  }
  return s;
}
