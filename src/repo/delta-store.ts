/**
 * Static deltas in a repository: `deltas/…/{superblock,0,1,…}` (fact sheet §6.1) and the delta
 * indexes `delta-indexes/XX/REST.index` (§4.2), an `a{sv}` holding, under `ostree.static-deltas`,
 * every delta to that commit named in hex (`TO` or `FROM-TO`) with the SHA-256 of its superblock
 * file. Clients of a summary with `ostree.summary.indexed-deltas` fetch the index of the commit
 * they want instead of scanning the summary.
 */
import { lstatSync, mkdirSync, opendirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { checksumFromBytes, checksumToBytes, compareNames, sha256Hex } from "../core/checksum.js";
import { decodeVarDict, encodeVarDict, lookup, type VarDict } from "../core/metadata.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { ghashOrderPairs } from "../gvariant/ghash-order.js";
import { Variant } from "../gvariant/index.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import {
  type DeltaEndpoints,
  deltaDir,
  deltaFromDirName,
  deltaIndexPath,
  deltaName,
  mb64ToChecksum,
  parseDeltaName,
} from "./delta-naming.js";
import type { Repo } from "./repo.js";

/** Key of the delta map in a delta index (and in the summary). */
export const STATIC_DELTAS_KEY = "ostree.static-deltas";

function ls(p: string): string[] {
  try {
    return readdirSync(p);
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return [];
    throw fromSystemError(`Cannot list "${p}"`, e);
  }
}

/** Directory entries in the order the kernel returns them (readdirSync sorts them). */
function lsRaw(p: string): string[] {
  let dir: import("node:fs").Dir;
  try {
    dir = opendirSync(p);
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return [];
    throw fromSystemError(`Cannot list "${p}"`, e);
  }
  const out: string[] = [];
  try {
    for (let d = dir.readSync(); d; d = dir.readSync()) out.push(d.name);
  } finally {
    dir.closeSync();
  }
  return out;
}

/**
 * Every well-named delta under `deltas/`, in directory order (as `ostree static-delta list`
 * prints them), or sorted by hex name.
 * @throws ArborError IO
 */
export function listDeltas(repo: Repo, o: { sorted?: boolean } = {}): DeltaEndpoints[] {
  const root = join(repo.path, "deltas");
  const out: DeltaEndpoints[] = [];
  for (const pre of lsRaw(root)) {
    for (const rest of lsRaw(join(root, pre))) {
      const d = deltaFromDirName(pre, rest);
      if (d) out.push(d);
    }
  }
  return o.sorted ? out.sort((a, b) => compareNames(deltaName(a), deltaName(b))) : out;
}

/**
 * The superblock file of a stored delta, or null if there is no such delta.
 * @throws ArborError IO
 */
export function readSuperblockFileMaybe(repo: Repo, d: DeltaEndpoints): Uint8Array | null {
  const p = join(repo.path, deltaDir(d), "superblock");
  try {
    return readFileSync(p);
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return null;
    throw fromSystemError(`Cannot read "${p}"`, e);
  }
}

/**
 * Resolve a delta name as `static-delta show/delete` take it (`TO` or `FROM-TO`, full hex).
 * @throws ArborError BAD_NAME `Invalid rev NAME`
 */
export function parseDeltaArg(name: string): DeltaEndpoints {
  try {
    return parseDeltaName(name);
  } catch {
    throw new ArborError("BAD_NAME", `Invalid rev ${name}`);
  }
}

/**
 * Delete a stored delta: its directory, whatever it holds (as ostree, an empty one too).
 * @throws ArborError NOT_FOUND `Can't find delta NAME`, IO
 */
export function deleteDelta(repo: Repo, d: DeltaEndpoints): void {
  const dir = join(repo.path, deltaDir(d));
  try {
    lstatSync(dir);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") throw new ArborError("NOT_FOUND", `Can't find delta ${deltaName(d)}`);
    throw fromSystemError(`Cannot delete static delta ${deltaName(d)}`, e);
  }
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    throw fromSystemError(`Cannot delete static delta ${deltaName(d)}`, e);
  }
}

/** The `to` commits that have a delta index, sorted. @throws ArborError IO */
export function listDeltaIndexes(repo: Repo): string[] {
  const root = join(repo.path, "delta-indexes");
  const out: string[] = [];
  for (const pre of ls(root)) {
    if (pre.length !== 2) continue;
    for (const f of ls(join(root, pre))) {
      if (!f.endsWith(".index")) continue;
      const cs = mb64ToChecksum(pre + f.slice(0, -".index".length));
      if (cs) out.push(cs);
    }
  }
  return out.sort(compareNames);
}

/** Encode a delta map (hex name → superblock SHA-256) as a delta index. */
export function encodeDeltaIndex(deltas: Array<[string, string]>): Uint8Array {
  const map = ghashOrderPairs(
    deltas.map(([n, h]): [string, Variant] => [n, new Variant("ay", checksumToBytes(h))]),
  );
  return encodeVarDict([[STATIC_DELTAS_KEY, new Variant("a{sv}", map)]]);
}

/**
 * Decode a delta index (or a summary's `ostree.static-deltas` value) into hex name → superblock
 * SHA-256; entries with a bad name or digest are refused.
 * @throws ArborError OBJECT_CORRUPT
 */
export function decodeDeltaMap(map: VarDict, what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, v] of map) {
    if (v.type !== "ay" || (v.value as Uint8Array).length !== 32)
      throw new ArborError("OBJECT_CORRUPT", `Invalid ${what}: delta ${name} has no 32-byte checksum`);
    try {
      parseDeltaName(name);
    } catch (e) {
      throw new ArborError("OBJECT_CORRUPT", `Invalid ${what}: bad delta name "${name}"`, { cause: e });
    }
    out.set(name, checksumFromBytes(v.value as Uint8Array));
  }
  return out;
}

/** Decode a delta index file. @throws ArborError OBJECT_CORRUPT */
export function decodeDeltaIndex(bytes: Uint8Array): Map<string, string> {
  const d = decodeVarDict(bytes, "delta index");
  const v = lookup(d, STATIC_DELTAS_KEY);
  if (!v) return new Map();
  if (v.type !== "a{sv}")
    throw new ArborError("OBJECT_CORRUPT", `Invalid delta index: ${STATIC_DELTAS_KEY} is not a{sv}`);
  return decodeDeltaMap(v.value as VarDict, "delta index");
}

/** Stored deltas with the SHA-256 of their superblock files (those without one are skipped). */
export function deltaDigests(repo: Repo): Array<{ delta: DeltaEndpoints; digest: string }> {
  const out: Array<{ delta: DeltaEndpoints; digest: string }> = [];
  for (const d of listDeltas(repo, { sorted: true })) {
    const sb = readSuperblockFileMaybe(repo, d);
    if (sb) out.push({ delta: d, digest: sha256Hex(sb) });
  }
  return out;
}

/**
 * Rewrite `delta-indexes/` from the deltas present (as `static-delta reindex` and `summary -u`):
 * one index per target commit; indexes for commits without deltas are removed unless `to` limits
 * the work to one commit. Sets `core.indexed-deltas=true` in the config.
 * @throws ArborError IO
 */
export function reindexDeltas(repo: Repo, to?: string): void {
  // recorded in the config, as ostree does, so this repository is known to publish indexes
  if (repo.config.get("core", "indexed-deltas") !== "true") {
    repo.reloadConfig();
    repo.config.set("core", "indexed-deltas", "true");
    repo.saveConfig();
  }
  const byTo = new Map<string, Array<[string, string]>>();
  for (const { delta, digest } of deltaDigests(repo)) {
    if (to && delta.to !== to) continue;
    const list = byTo.get(delta.to) ?? [];
    list.push([deltaName(delta), digest]);
    byTo.set(delta.to, list);
  }
  try {
    if (!to) {
      for (const cs of listDeltaIndexes(repo))
        if (!byTo.has(cs)) rmSync(join(repo.path, deltaIndexPath(cs)), { force: true });
    } else if (!byTo.has(to)) rmSync(join(repo.path, deltaIndexPath(to)), { force: true });
    for (const [cs, deltas] of byTo) {
      const p = join(repo.path, deltaIndexPath(cs));
      const data = encodeDeltaIndex(deltas);
      let old: Uint8Array | null = null;
      try {
        old = readFileSync(p);
      } catch {
        // absent: written below
      }
      if (old && Buffer.compare(old, data) === 0) continue;
      mkdirSync(dirname(p), { recursive: true, mode: 0o755 });
      writeFileAtomicSync(p, data, { mode: 0o644 });
    }
  } catch (e) {
    throw e instanceof ArborError ? e : fromSystemError("Cannot reindex static deltas", e);
  }
}
