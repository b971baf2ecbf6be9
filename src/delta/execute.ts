/**
 * The static delta operation interpreter (fact sheet §6.3). Each part carries a list of objects
 * (from its superblock header) and an operation stream that rebuilds them, in order, from the
 * part's blob and from content objects already in the repository:
 *
 * | op | args (varints) | effect |
 * |----|----------------|--------|
 * | `S` | metadata: len, off · content: mode, xattr, size, off | whole object from blob[off, off+len) |
 * | `o` | mode, xattr, size | open a content object |
 * | `w` | size, off | append from the read source (if set) or the blob |
 * | `r` | off | read source = local content object named by blob[off, off+32) |
 * | `R` | – | unset the read source |
 * | `B` | off, len | bspatch(read source, blob[off, off+len)) → the open object's data |
 * | `c` | – | close the open object |
 *
 * Why it is safe on hostile input: every offset and length is bounds-checked against the blob
 * (or the read source) before use, an open object never receives more than its declared size,
 * and every object is checked against the checksum the part header names by the Transaction
 * before it is staged; the count of objects rebuilt must match the header exactly.
 */
import { checksumFromBytes } from "../core/checksum.js";
import type { FileHeader } from "../core/content-header.js";
import { isLnk, isReg } from "../core/mode.js";
import { ArborError } from "../errors.js";
import { readFileDataSync, statFileObject } from "../repo/read-object.js";
import type { Transaction } from "../repo/transaction.js";
import { bspatch } from "./bspatch.js";
import type { PartPayload } from "./part.js";
import type { DeltaObject } from "./superblock.js";
import { type Cursor, readVarint } from "./varint.js";

/** Operation codes. */
export const OP = {
  openSpliceClose: 0x53, // S
  open: 0x6f, // o
  write: 0x77, // w
  setReadSource: 0x72, // r
  unsetReadSource: 0x52, // R
  close: 0x63, // c
  bspatch: 0x42, // B
} as const;

/** Counts of operations, as `static-delta show` prints them. */
export interface OpCounts {
  openspliceclose: number;
  open: number;
  write: number;
  setread: number;
  unsetread: number;
  close: number;
  bspatch: number;
}

const dec = new TextDecoder("utf-8", { fatal: true });

function corrupt(part: number, detail: string): ArborError {
  return new ArborError("OBJECT_CORRUPT", `Invalid static delta part ${part}: ${detail}`);
}

interface OpenObject {
  obj: DeltaObject;
  header: FileHeader;
  size: number;
  chunks: Uint8Array[];
  written: number;
}

/** What executing a part did. */
export interface ExecuteResult {
  /** Objects newly staged (not already present). */
  written: number;
  ops: OpCounts;
}

/** A zero count of each operation. */
function noOps(): OpCounts {
  return { openspliceclose: 0, open: 0, write: 0, setread: 0, unsetread: 0, close: 0, bspatch: 0 };
}

/**
 * Rebuild a part's objects into `tx`. Content read sources come from `tx.repo`.
 * @throws ArborError OBJECT_CORRUPT (bad op stream, bounds, count or checksum mismatch),
 *   OBJECT_NOT_FOUND (a read source is not in the repository)
 */
export async function executePart(
  tx: Transaction,
  objects: DeltaObject[],
  p: PartPayload,
  part: number,
): Promise<ExecuteResult> {
  const ops = noOps();
  const c: Cursor = { bytes: p.ops, pos: 0 };
  const v = (): number => readVarint(c);
  const slice = (src: Uint8Array, off: number, len: number, what: string): Uint8Array => {
    if (off > src.length || len > src.length - off)
      throw corrupt(part, `${what} [${off}, +${len}) is past the end (${src.length} bytes)`);
    return src.subarray(off, off + len);
  };
  const header = (modeIdx: number, xattrIdx: number): FileHeader => {
    const m = p.modes[modeIdx];
    const x = p.xattrs[xattrIdx];
    if (!m) throw corrupt(part, `mode index ${modeIdx} out of range (${p.modes.length})`);
    if (!x) throw corrupt(part, `xattr index ${xattrIdx} out of range (${p.xattrs.length})`);
    return { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: "", xattrs: x };
  };
  let next = 0;
  let written = 0;
  const take = (): DeltaObject => {
    const o = objects[next++];
    if (!o) throw corrupt(part, `operations rebuild more than the ${objects.length} objects listed`);
    return o;
  };
  const store = async (obj: DeltaObject, h: FileHeader | null, data: Uint8Array): Promise<void> => {
    const present = tx.has(obj.type, obj.checksum);
    if (h === null) tx.writeMetadata(obj.type, data, obj.checksum);
    else if (isLnk(h.mode)) {
      let target: string;
      try {
        target = dec.decode(data);
      } catch {
        throw corrupt(part, `symlink target of ${obj.checksum} is not UTF-8`);
      }
      await tx.writeContent({ ...h, symlinkTarget: target }, new Uint8Array(0), obj.checksum);
    } else await tx.writeContent(h, data, obj.checksum);
    if (!present) written++;
  };
  let open: OpenObject | null = null;
  let source: Uint8Array | null = null;
  while (c.pos < c.bytes.length) {
    const op = c.bytes[c.pos++]!;
    switch (op) {
      case OP.openSpliceClose: {
        ops.openspliceclose++;
        if (open) throw corrupt(part, "S while an object is open");
        const obj = take();
        if (obj.type === "file") {
          const h = header(v(), v());
          const size = v();
          const data = slice(p.blob, v(), size, "content");
          if (!isLnk(h.mode) && !isReg(h.mode))
            throw corrupt(part, `invalid mode 0${h.mode.toString(8)} for ${obj.checksum}`);
          await store(obj, h, data);
        } else {
          const len = v();
          await store(obj, null, slice(p.blob, v(), len, "metadata"));
        }
        break;
      }
      case OP.open: {
        ops.open++;
        if (open) throw corrupt(part, "o while an object is open");
        const obj = take();
        if (obj.type !== "file") throw corrupt(part, `o for ${obj.type} object ${obj.checksum}`);
        const h = header(v(), v());
        if (!isReg(h.mode)) throw corrupt(part, `o for a non-regular file ${obj.checksum}`);
        open = { obj, header: h, size: v(), chunks: [], written: 0 };
        break;
      }
      case OP.write: {
        ops.write++;
        if (!open) throw corrupt(part, "w with no open object");
        const size = v();
        const data = slice(source ?? p.blob, v(), size, source ? "read source" : "write");
        if (open.written + size > open.size)
          throw corrupt(part, `writes exceed the declared size ${open.size} of ${open.obj.checksum}`);
        open.chunks.push(data);
        open.written += size;
        break;
      }
      case OP.setReadSource: {
        ops.setread++;
        const cs = checksumFromBytes(slice(p.blob, v(), 32, "read source checksum"));
        if (!tx.repo.hasObject("file", cs))
          throw new ArborError(
            "OBJECT_NOT_FOUND",
            `Cannot apply static delta: read source ${cs} is not in the repository`,
          );
        source = readFileDataSync(statFileObject(tx.repo, cs));
        break;
      }
      case OP.unsetReadSource:
        ops.unsetread++;
        source = null;
        break;
      case OP.bspatch: {
        ops.bspatch++;
        if (!open) throw corrupt(part, "B with no open object");
        if (!source) throw corrupt(part, "B with no read source");
        const patch = slice(p.blob, v(), v(), "bspatch");
        if (open.written !== 0) throw corrupt(part, "B after data was written");
        open.chunks.push(bspatch(source, patch, open.size));
        open.written = open.size;
        break;
      }
      case OP.close: {
        ops.close++;
        if (!open) throw corrupt(part, "c with no open object");
        if (open.written !== open.size)
          throw corrupt(part, `${open.obj.checksum} got ${open.written} bytes, declared ${open.size}`);
        await store(open.obj, open.header, Buffer.concat(open.chunks));
        open = null;
        break;
      }
      default:
        throw corrupt(part, `unknown operation 0x${op.toString(16)} at offset ${c.pos - 1}`);
    }
  }
  if (open) throw corrupt(part, `object ${open.obj.checksum} is never closed`);
  if (next !== objects.length)
    throw corrupt(part, `operations rebuild ${next} objects, the header lists ${objects.length}`);
  return { written, ops };
}

/**
 * Count a part's operations without executing them (`static-delta show`).
 * @throws ArborError OBJECT_CORRUPT on an unknown op or truncated varint.
 */
export function countOps(p: PartPayload, part: number, objects: DeltaObject[]): OpCounts {
  const ops = noOps();
  const c: Cursor = { bytes: p.ops, pos: 0 };
  let next = 0;
  while (c.pos < c.bytes.length) {
    const op = c.bytes[c.pos++]!;
    switch (op) {
      case OP.openSpliceClose: {
        ops.openspliceclose++;
        const obj = objects[next++];
        const n = obj?.type === "file" ? 4 : 2;
        for (let i = 0; i < n; i++) readVarint(c);
        break;
      }
      case OP.open:
        ops.open++;
        next++;
        for (let i = 0; i < 3; i++) readVarint(c);
        break;
      case OP.write:
        ops.write++;
        readVarint(c);
        readVarint(c);
        break;
      case OP.setReadSource:
        ops.setread++;
        readVarint(c);
        break;
      case OP.unsetReadSource:
        ops.unsetread++;
        break;
      case OP.bspatch:
        ops.bspatch++;
        readVarint(c);
        readVarint(c);
        break;
      case OP.close:
        ops.close++;
        break;
      default:
        throw corrupt(part, `unknown operation 0x${op.toString(16)} at offset ${c.pos - 1}`);
    }
  }
  return ops;
}
