/**
 * GVariant deserializer, safe on hostile bytes.
 *
 * Every framing offset and length is bounds-checked against its container; anything that
 * cannot be read unambiguously throws ArborError GVARIANT_INVALID (never another exception,
 * never an allocation larger than the input). Reading does not require normal form; use
 * {@link isNormalForm} where OSTree requires it (commit, dirtree, dirmeta).
 */
import { ArborError } from "../errors.js";
import { type GVValue, Just, serialize, Variant } from "./serialize.js";
import { alignUp, type GVType, isObjectPath, isSignature, parseType } from "./type.js";

// ignoreBOM: a leading U+FEFF is part of the string, not a byte-order mark to drop
const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** GLib's G_VARIANT_MAX_RECURSION_DEPTH: containers nested deeper than this are rejected. */
const MAX_DEPTH = 128;

function invalid(t: GVType, why: string): never {
  throw new ArborError("GVARIANT_INVALID", `Malformed GVariant of type "${t.str}": ${why}`);
}

/** Offset width used by a container of `size` bytes. */
export function offsetWidth(size: number): number {
  if (size === 0) return 0;
  if (size <= 0xff) return 1;
  if (size <= 0xffff) return 2;
  if (size <= 0xffffffff) return 4;
  return 8;
}

function readOffset(buf: Uint8Array, dv: DataView, pos: number, width: number): number {
  switch (width) {
    case 1:
      return buf[pos]!;
    case 2:
      return dv.getUint16(pos, true);
    case 4:
      return dv.getUint32(pos, true);
    default: {
      const v = dv.getBigUint64(pos, true);
      return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
    }
  }
}

class Reader {
  readonly dv: DataView;
  depth = 0;
  readonly buf: Uint8Array;
  constructor(input: Uint8Array) {
    // a plain view even for a Buffer, whose slice() would alias the input instead of copying
    this.buf = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.dv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  }

  /** Read value of type t from buf[start, end). */
  read(t: GVType, start: number, end: number): GVValue {
    const size = end - start;
    if (t.fixedSize !== null && size !== t.fixedSize) {
      invalid(t, `expected ${t.fixedSize} bytes, found ${size}`);
    }
    if (t.kind === "basic") return this.basic(t, start, end);
    if (++this.depth > MAX_DEPTH) invalid(t, `containers nested more than ${MAX_DEPTH} deep`);
    try {
      return this.container(t, start, end);
    } finally {
      this.depth--;
    }
  }

  container(t: GVType, start: number, end: number): GVValue {
    const size = end - start;
    switch (t.kind) {
      case "basic":
        return this.basic(t, start, end);
      case "variant":
        return this.variant(t, start, end);
      case "maybe": {
        if (size === 0) return null;
        if (t.elem.fixedSize !== null) return this.read(t.elem, start, end);
        if (this.buf[end - 1] !== 0) invalid(t, "maybe value lacks its trailing 0 byte");
        const inner = this.read(t.elem, start, end - 1);
        // Just Nothing (or Just Just …) of a nested maybe must stay distinguishable from Nothing
        return t.elem.kind === "maybe" && (inner === null || inner instanceof Just) ? new Just(inner) : inner;
      }
      case "array":
        return this.array(t, t.elem, start, end);
      case "tuple":
        return this.tuple(t, t.members, start, end);
      case "dict":
        return this.tuple(t, [t.key, t.value], start, end);
    }
  }

  basic(t: GVType & { kind: "basic" }, start: number, end: number): GVValue {
    const { dv } = this;
    switch (t.code) {
      case "b": {
        const b = this.buf[start];
        if (b !== 0 && b !== 1) invalid(t, `boolean byte is ${b}`);
        return b === 1;
      }
      case "y":
        return this.buf[start]!;
      case "n":
        return dv.getInt16(start, true);
      case "q":
        return dv.getUint16(start, true);
      case "i":
      case "h":
        return dv.getInt32(start, true);
      case "u":
        return dv.getUint32(start, true);
      case "x":
        return dv.getBigInt64(start, true);
      case "t":
        return dv.getBigUint64(start, true);
      case "d":
        return dv.getFloat64(start, true);
      default: {
        const s = this.string(t, start, end);
        if (t.code === "o" && !isObjectPath(s)) invalid(t, "not a valid object path");
        if (t.code === "g" && !isSignature(s)) invalid(t, "not a valid signature");
        return s;
      }
    }
  }

  string(t: GVType, start: number, end: number): string {
    if (end <= start) invalid(t, "string is empty (no terminating 0 byte)");
    if (this.buf[end - 1] !== 0) invalid(t, "string is not 0-terminated");
    const body = this.buf.subarray(start, end - 1);
    if (body.indexOf(0) !== -1) invalid(t, "string contains a 0 byte");
    try {
      return dec.decode(body);
    } catch {
      return invalid(t, "string is not valid UTF-8");
    }
  }

  variant(t: GVType, start: number, end: number): Variant {
    // child bytes, 0x00, type string (no terminator): the type is after the last 0 byte
    let z = end - 1;
    while (z >= start && this.buf[z] !== 0) z--;
    if (z < start) invalid(t, "variant has no type separator");
    if (end - z - 1 > 1024) invalid(t, "variant type string is too long");
    const typeStr = String.fromCharCode(...this.buf.subarray(z + 1, end));
    let inner: GVType;
    try {
      inner = parseType(typeStr);
    } catch {
      return invalid(t, `variant has invalid type "${typeStr.slice(0, 40)}"`);
    }
    return new Variant(typeStr, this.read(inner, start, z));
  }

  array(t: GVType, elem: GVType, start: number, end: number): GVValue {
    const size = end - start;
    if (elem.kind === "basic" && elem.code === "y") return this.buf.slice(start, end);
    if (size === 0) return [];
    const out: GVValue[] = [];
    if (elem.fixedSize !== null) {
      if (size % elem.fixedSize !== 0) invalid(t, `size ${size} is not a multiple of ${elem.fixedSize}`);
      for (let p = start; p < end; p += elem.fixedSize) out.push(this.read(elem, p, p + elem.fixedSize));
      return out;
    }
    const w = offsetWidth(size);
    if (size < w) invalid(t, "too small for its offset table");
    const tableStart = readOffset(this.buf, this.dv, end - w, w);
    if (tableStart > size - w) invalid(t, `offset table start ${tableStart} out of bounds`);
    const tableLen = size - tableStart;
    if (tableLen % w !== 0) invalid(t, "offset table size is not a multiple of the offset width");
    const n = tableLen / w;
    if (n === 0) invalid(t, "non-empty array with no elements");
    let prev = 0;
    for (let i = 0; i < n; i++) {
      const e = readOffset(this.buf, this.dv, start + tableStart + i * w, w);
      const s = alignUp(prev, elem.align);
      if (e < s || e > tableStart) invalid(t, `element ${i} offset ${e} out of bounds`);
      out.push(this.read(elem, start + s, start + e));
      prev = e;
    }
    return out;
  }

  tuple(t: GVType, members: GVType[], start: number, end: number): GVValue[] {
    const size = end - start;
    const w = t.fixedSize === null ? offsetWidth(size) : 0;
    let tableEnd = size; // offsets are consumed from the end backwards
    let pos = 0;
    const out: GVValue[] = [];
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const s = alignUp(pos, m.align);
      let e: number;
      if (m.fixedSize !== null) {
        e = s + m.fixedSize;
      } else if (i === members.length - 1) {
        e = tableEnd;
      } else {
        tableEnd -= w;
        // w is 0 for an empty container, which has no room for the offsets it needs
        if (w === 0 || tableEnd < 0) invalid(t, "offset table runs past the start");
        e = readOffset(this.buf, this.dv, start + tableEnd, w);
      }
      if (s > e || e > tableEnd) invalid(t, `member ${i} [${s}, ${e}) out of bounds`);
      out.push(this.read(m, start + s, start + e));
      pos = e;
    }
    return out;
  }
}

/**
 * Read `bytes` as GVariant type `type`.
 * @throws ArborError GVARIANT_INVALID on any structural problem.
 */
export function deserialize(type: string | GVType, bytes: Uint8Array): GVValue {
  const t = typeof type === "string" ? parseType(type) : type;
  return new Reader(bytes).read(t, 0, bytes.length);
}

/**
 * True if `bytes` is the normal form of a value of `type` (GVariant's unique canonical
 * encoding): it reads without error and re-serializes to exactly the same bytes.
 */
export function isNormalForm(type: string | GVType, bytes: Uint8Array): boolean {
  let v: GVValue;
  try {
    v = deserialize(type, bytes);
  } catch {
    return false;
  }
  const again = serialize(type, v);
  if (again.length !== bytes.length) return false;
  for (let i = 0; i < again.length; i++) if (again[i] !== bytes[i]) return false;
  return true;
}
