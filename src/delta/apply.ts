/**
 * Applying a static delta: every part is checked against its superblock header (SHA-256, sizes),
 * decompressed within its declared size and executed into a {@link Transaction}
 * (execute.ts verifies each object against its checksum before staging it). Parts whose objects
 * are all present already are skipped, as ostree does. Fallback objects are not in the parts:
 * a pull fetches them loose; offline application needs them present.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { encodeVarDict, lookup, type VarDict } from "../core/metadata.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { commitmetaKey, inlinePartKey } from "../repo/delta-naming.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import { executePart } from "./execute.js";
import { openPart } from "./part.js";
import { type KeyInput, verifySuperblockSignature } from "./sign.js";
import { decodeSuperblock, type Superblock } from "./superblock.js";

/** Where the bytes of part `i` come from when it is not inline (a file, an HTTP fetch…). */
export type PartReader = (index: number) => Promise<Uint8Array>;

/** Counts from applying a delta. */
export interface ApplyStats {
  partsApplied: number;
  partsSkipped: number;
  objectsWritten: number;
}

/** Part `i` stored inline in the superblock metadata (`deltas/…/i` = `(yay)`), or null. */
export function inlinePart(sb: Superblock, i: number): Uint8Array | null {
  const v = lookup(sb.metadata, inlinePartKey(sb, i));
  if (!v) return null;
  if (v.type !== "(yay)")
    throw new ArborError("OBJECT_CORRUPT", `Invalid static delta superblock: inline part ${i} is not (yay)`);
  const [comp, body] = v.value as [number, Uint8Array];
  const file = new Uint8Array(body.length + 1);
  file[0] = comp;
  file.set(body, 1);
  return file;
}

/** The to-commit's detached metadata carried in the superblock, or null. */
export function superblockCommitmeta(sb: Superblock): VarDict | null {
  const v = lookup(sb.metadata, commitmetaKey(sb));
  if (!v) return null;
  if (v.type !== "a{sv}")
    throw new ArborError("OBJECT_CORRUPT", "Invalid static delta superblock: commitmeta is not a{sv}");
  return v.value as VarDict;
}

/**
 * Execute every part of `sb` into `tx` (not the commit itself: callers store it). A part is taken
 * from the superblock when it is inline there, else from `readPart`.
 * @throws ArborError OBJECT_CORRUPT, OBJECT_NOT_FOUND (read source missing), NETWORK/IO from `readPart`
 */
export async function applyDeltaParts(
  tx: Transaction,
  sb: Superblock,
  readPart: PartReader,
  o: { signal?: AbortSignal } = {},
): Promise<ApplyStats> {
  const stats: ApplyStats = { partsApplied: 0, partsSkipped: 0, objectsWritten: 0 };
  for (let i = 0; i < sb.parts.length; i++) {
    if (o.signal?.aborted) throw new ArborError("ABORTED", "Operation was cancelled");
    const h = sb.parts[i]!;
    if (h.objects.length > 0 && h.objects.every((x) => tx.has(x.type, x.checksum))) {
      stats.partsSkipped++;
      continue;
    }
    const payload = await openPart(inlinePart(sb, i) ?? (await readPart(i)), h, i);
    const r = await executePart(tx, h.objects, payload, i);
    stats.partsApplied++;
    stats.objectsWritten += r.written;
  }
  return stats;
}

/** Options of {@link applyDeltaOffline}. */
export interface ApplyOfflineOptions {
  /** Verify the superblock signature with this engine and these public keys (`--sign-type`, KEY…). */
  signType?: string;
  keys?: KeyInput[];
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
}

/**
 * `static-delta apply-offline PATH`: PATH is a delta directory (superblock + parts, or superblock
 * with inline parts) or a single-file delta (`generate --inline --filename`). Writes the objects,
 * the to-commit and its detached metadata; moves no ref.
 * @returns the superblock applied.
 * @throws ArborError NOT_FOUND (PATH, from-commit), OBJECT_CORRUPT, SIGNATURE_*, IO
 */
export async function applyDeltaOffline(
  repo: Repo,
  path: string,
  o: ApplyOfflineOptions = {},
): Promise<Superblock> {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw fromSystemError(`Cannot open static delta "${path}"`, e);
  }
  const read = (p: string): Uint8Array => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw fromSystemError(`Cannot read static delta file "${p}"`, e);
    }
  };
  const file = read(isDir ? join(path, "superblock") : path);
  const mandatory = repo.config.getBool("core", "sign-verify-deltas", false);
  if (o.keys?.length || mandatory) {
    if (!o.keys?.length)
      throw new ArborError("SIGNATURE_MISSING", "Key is mandatory to check delta signature");
    await verifySuperblockSignature(file, o.signType ?? "ed25519", o.keys, o.env);
  }
  const sb = decodeSuperblock(file);
  if (sb.from && !repo.hasObject("commit", sb.from))
    throw new ArborError("NOT_FOUND", `Commit ${sb.from}, which is the delta source, is not in repository`);
  for (const f of sb.fallbacks) {
    if (!repo.hasObject(f.type, f.checksum))
      throw new ArborError(
        "OBJECT_NOT_FOUND",
        `Cannot apply static delta offline: fallback object ${f.checksum}.${f.type} is not in the repository`,
      );
  }
  const tx = await Transaction.begin(repo, { signal: o.signal });
  try {
    await applyDeltaParts(
      tx,
      sb,
      async (i) => {
        if (!isDir) throw new ArborError("OBJECT_CORRUPT", `Invalid static delta: part ${i} is not inline`);
        const p = join(path, String(i));
        if (!existsSync(p))
          throw new ArborError("NOT_FOUND", `Cannot apply static delta: part "${p}" is missing`);
        return read(p);
      },
      { signal: o.signal },
    );
    const meta = superblockCommitmeta(sb);
    if (meta) tx.writeMetadataNamed("commitmeta", sb.to, encodeVarDict(meta), true);
    tx.writeMetadata("commit", sb.commit, sb.to);
    await tx.commit();
  } catch (e) {
    await tx.abort();
    throw e instanceof ArborError || errnoCode(e) === undefined
      ? e
      : fromSystemError("Cannot apply static delta", e);
  }
  return sb;
}
