/**
 * What `static-delta show` reports about a stored delta: the superblock's header fields and,
 * per part, its size and the contents of its payload (tables, blob, operation counts).
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { type DeltaEndpoints, deltaDir } from "../repo/delta-naming.js";
import type { Repo } from "../repo/repo.js";
import { inlinePart } from "./apply.js";
import { countOps, type OpCounts } from "./execute.js";
import { openPart } from "./part.js";
import { decodeSuperblock, type Superblock, unwrapSignedSuperblock } from "./superblock.js";

/** One part as `show` prints it. */
export interface PartInfo {
  objects: number;
  size: number;
  usize: number;
  nmodes: number;
  nxattrs: number;
  blobsize: number;
  opsize: number;
  ops: OpCounts;
}

/** A delta as `show` prints it. */
export interface DeltaInfo {
  superblock: Superblock;
  signed: boolean;
  parts: PartInfo[];
}

/**
 * Read and describe a stored delta (every part is checked and decompressed).
 * @throws ArborError NOT_FOUND (no such delta), OBJECT_CORRUPT
 */
export async function describeDelta(repo: Repo, d: DeltaEndpoints): Promise<DeltaInfo> {
  const dir = join(repo.path, deltaDir(d));
  const read = (name: string): Uint8Array => {
    try {
      return readFileSync(join(dir, name));
    } catch (e) {
      if (errnoCode(e) === "ENOENT")
        throw new ArborError("NOT_FOUND", `openat(${deltaDir(d)}/${name}): No such file or directory`);
      throw fromSystemError(`Cannot read "${join(dir, name)}"`, e);
    }
  };
  const file = read("superblock");
  const sb = decodeSuperblock(file);
  const parts: PartInfo[] = [];
  for (let i = 0; i < sb.parts.length; i++) {
    const h = sb.parts[i]!;
    const p = await openPart(inlinePart(sb, i) ?? read(String(i)), h, i);
    parts.push({
      objects: h.objects.length,
      size: h.compressedSize,
      usize: h.uncompressedSize,
      nmodes: p.modes.length,
      nxattrs: p.xattrs.length,
      blobsize: p.blob.length,
      opsize: p.ops.length,
      ops: countOps(p, i, h.objects),
    });
  }
  return { superblock: sb, signed: unwrapSignedSuperblock(file) !== null, parts };
}
