/**
 * Accumulates objects into static delta parts (fact sheet §6.3) for generation: a shared blob,
 * deduplicated mode and xattr tables, and the operation stream, cut into a new part when the
 * blob reaches the maximum chunk size.
 */

import { checksumToBytes } from "../core/checksum.js";
import type { FileHeader, Xattrs } from "../core/content-header.js";
import { OP } from "./execute.js";
import type { PartMode, PartPayload } from "./part.js";
import type { DeltaObject } from "./superblock.js";
import { encodeVarint } from "./varint.js";

/** A part being built. */
export interface BuiltPart {
  objects: DeltaObject[];
  payload: PartPayload;
  /** Total size of the objects rebuilt (what ostree records as the part's uncompressed size). */
  objectBytes: number;
}

function xattrKey(x: Xattrs): string {
  return JSON.stringify(x.map(([n, v]) => [n, Buffer.from(v).toString("base64")]));
}

/** See the file comment. */
export class PartBuilder {
  readonly parts: BuiltPart[] = [];
  private objects: DeltaObject[] = [];
  private modes: PartMode[] = [];
  private modeIdx = new Map<string, number>();
  private xattrs: Xattrs[] = [];
  private xattrIdx = new Map<string, number>();
  private blob: Uint8Array[] = [];
  private blobSize = 0;
  private ops: number[] = [];
  private objectBytes = 0;

  constructor(private readonly maxChunk: number) {}

  private room(bytes: number): void {
    if (this.objects.length > 0 && this.blobSize + bytes > this.maxChunk) this.cut();
  }

  private put(data: Uint8Array): number {
    const off = this.blobSize;
    this.blob.push(data);
    this.blobSize += data.length;
    return off;
  }

  private op(code: number, ...args: number[]): void {
    this.ops.push(code);
    for (const a of args) for (const b of encodeVarint(a)) this.ops.push(b);
  }

  private header(h: FileHeader): [number, number] {
    const mk = `${h.uid}:${h.gid}:${h.mode}`;
    let m = this.modeIdx.get(mk);
    if (m === undefined) {
      m = this.modes.length;
      this.modes.push({ uid: h.uid, gid: h.gid, mode: h.mode });
      this.modeIdx.set(mk, m);
    }
    const xk = xattrKey(h.xattrs);
    let x = this.xattrIdx.get(xk);
    if (x === undefined) {
      x = this.xattrs.length;
      this.xattrs.push(h.xattrs);
      this.xattrIdx.set(xk, x);
    }
    return [m, x];
  }

  /** A metadata object, whole (`S len off`). */
  addMetadata(obj: DeltaObject, bytes: Uint8Array): void {
    this.room(bytes.length);
    this.objects.push(obj);
    this.objectBytes += bytes.length;
    const off = this.put(bytes);
    this.op(OP.openSpliceClose, bytes.length, off);
  }

  /**
   * A content object, whole (`S mode xattr size off`); for a symlink `data` is its target.
   * `size` is the object's content size (0 for a symlink), as ostree counts it.
   */
  addContent(obj: DeltaObject, h: FileHeader, data: Uint8Array, size = data.length): void {
    this.room(data.length);
    this.objects.push(obj);
    this.objectBytes += size;
    const [m, x] = this.header(h);
    const off = this.put(data);
    this.op(OP.openSpliceClose, m, x, data.length, off);
  }

  /** A content object rebuilt from a local one with a bsdiff patch (`r o B c R`). */
  addPatched(obj: DeltaObject, h: FileHeader, size: number, source: string, patch: Uint8Array): void {
    this.room(patch.length + 32);
    this.objects.push(obj);
    this.objectBytes += size;
    const [m, x] = this.header(h);
    const srcOff = this.put(checksumToBytes(source));
    this.op(OP.setReadSource, srcOff);
    this.op(OP.open, m, x, size);
    this.op(OP.bspatch, this.put(patch), patch.length);
    this.op(OP.close);
    this.op(OP.unsetReadSource);
  }

  /** Close the current part (a delta always has at least one, possibly empty). */
  cut(): void {
    const blob = new Uint8Array(this.blobSize);
    let at = 0;
    for (const b of this.blob) {
      blob.set(b, at);
      at += b.length;
    }
    this.parts.push({
      objects: this.objects,
      payload: { modes: this.modes, xattrs: this.xattrs, blob, ops: Uint8Array.from(this.ops) },
      objectBytes: this.objectBytes,
    });
    this.objectBytes = 0;
    this.objects = [];
    this.modes = [];
    this.modeIdx = new Map();
    this.xattrs = [];
    this.xattrIdx = new Map();
    this.blob = [];
    this.blobSize = 0;
    this.ops = [];
  }

  /** All parts, closing the current one if it holds anything (or if there are none yet). */
  finish(): BuiltPart[] {
    if (this.objects.length > 0 || this.parts.length === 0) this.cut();
    return this.parts;
  }
}
