/**
 * GVariant serializer producing normal form (GVariant spec; fact sheet §1).
 *
 * Values map to JavaScript as:
 *  b → boolean; y n q i u h d → number; x t → bigint; s o g → string; v → {@link Variant};
 *  ay → Uint8Array; other aT → array; mT → value | null; tuples → array; dict entries → [key, value].
 * Numbers are written little-endian, as GLib does on every real producer; OSTree's big-endian
 * fields are byte-swapped by the caller (see formats.ts), exactly as libostree does.
 */
import { ArborError } from "../errors.js";
import { alignUp, type GVType, isObjectPath, isSignature, parseType } from "./type.js";

/** A boxed value of type `v`: its own type string plus the value. */
export class Variant {
  constructor(
    readonly type: string,
    readonly value: GVValue,
  ) {}
}

/**
 * An explicit Just, needed only where a maybe's element is itself a maybe: in type `mmi`,
 * `null` is Nothing, `new Just(null)` is Just Nothing and `5` is Just Just 5. The serializer
 * accepts a Just for any maybe; the deserializer produces one only where a bare value would be
 * ambiguous (the element is a maybe and it holds Nothing or another Just).
 */
export class Just {
  constructor(readonly value: GVValue) {}
}

export type GVValue =
  | boolean
  | Just
  | number
  | bigint
  | string
  | Uint8Array
  | Variant
  | null
  | GVValue[]
  | readonly GVValue[];

const enc = new TextEncoder();
// Built on first use from a string: a Unicode-property literal is parsed when the module loads.
let loneSurrogate: RegExp | undefined;
function hasLoneSurrogate(s: string): boolean {
  // biome-ignore lint/complexity/useRegexLiterals: see above
  loneSurrogate ??= new RegExp("\\p{Cs}", "u");
  return loneSurrogate.test(s);
}

/** A growable byte buffer; positions are absolute so alignment is relative to the top-level start. */
class Writer {
  buf = new Uint8Array(256);
  view = new DataView(this.buf.buffer);
  pos = 0;

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }

  pad(align: number, base: number): void {
    const target = base + alignUp(this.pos - base, align);
    this.ensure(target - this.pos);
    // the buffer is zero-filled and never rewritten below pos, so padding is already 0
    this.pos = target;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  uint(v: number, width: number): void {
    this.ensure(width);
    switch (width) {
      case 1:
        this.buf[this.pos] = v;
        break;
      case 2:
        this.view.setUint16(this.pos, v, true);
        break;
      case 4:
        this.view.setUint32(this.pos, v, true);
        break;
      case 8:
        this.view.setBigUint64(this.pos, BigInt(v), true);
        break;
    }
    this.pos += width;
  }
}

function typeError(t: GVType, value: unknown): never {
  const shown = typeof value === "bigint" ? `${value}n` : JSON.stringify(value)?.slice(0, 60);
  throw new ArborError("GVARIANT_INVALID", `Cannot serialize ${shown} as GVariant type "${t.str}"`);
}

/** Offset width for a container whose body is `body` bytes and that needs `k` offsets. */
export function offsetWidthFor(body: number, k: number): number {
  if (k === 0) return 0;
  if (body + k <= 0xff) return 1;
  if (body + k * 2 <= 0xffff) return 2;
  if (body + k * 4 <= 0xffffffff) return 4;
  return 8;
}

function writeOffsets(w: Writer, start: number, ends: number[]): void {
  const width = offsetWidthFor(w.pos - start, ends.length);
  for (const e of ends) w.uint(e, width);
}

function writeValue(w: Writer, t: GVType, v: GVValue): void {
  switch (t.kind) {
    case "basic":
      writeBasic(w, t.code, v, t);
      return;
    case "variant": {
      if (!(v instanceof Variant)) typeError(t, v);
      writeValue(w, parseType(v.type), v.value);
      w.byte(0);
      w.bytes(enc.encode(v.type));
      return;
    }
    case "maybe": {
      if (v === null || v === undefined) return;
      writeValue(w, t.elem, v instanceof Just ? v.value : v);
      if (t.elem.fixedSize === null) w.byte(0);
      return;
    }
    case "array": {
      if (t.elem.kind === "basic" && t.elem.code === "y") {
        if (!(v instanceof Uint8Array)) typeError(t, v);
        w.bytes(v);
        return;
      }
      if (!Array.isArray(v)) typeError(t, v);
      const start = w.pos;
      if (t.elem.fixedSize !== null) {
        for (const e of v) {
          w.pad(t.elem.align, start);
          writeValue(w, t.elem, e);
        }
        return;
      }
      const ends: number[] = [];
      for (const e of v) {
        w.pad(t.elem.align, start);
        writeValue(w, t.elem, e);
        ends.push(w.pos - start);
      }
      writeOffsets(w, start, ends);
      return;
    }
    case "tuple":
    case "dict": {
      const members = t.kind === "tuple" ? t.members : [t.key, t.value];
      if (!Array.isArray(v) || v.length !== members.length) typeError(t, v);
      const start = w.pos;
      const ends: number[] = [];
      for (let i = 0; i < members.length; i++) {
        const m = members[i]!;
        w.pad(m.align, start);
        writeValue(w, m, v[i] as GVValue);
        if (m.fixedSize === null && i !== members.length - 1) ends.push(w.pos - start);
      }
      if (t.fixedSize !== null) {
        // fixed-size tuple: pad to its size (covers the empty tuple's single 0 byte)
        const target = start + t.fixedSize;
        w.ensure(target - w.pos);
        w.pos = target;
        return;
      }
      ends.reverse();
      writeOffsets(w, start, ends);
      return;
    }
  }
}

function writeBasic(w: Writer, code: string, v: GVValue, t: GVType): void {
  switch (code) {
    case "b":
      if (typeof v !== "boolean") typeError(t, v);
      w.byte(v ? 1 : 0);
      return;
    case "y":
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xff) typeError(t, v);
      w.byte(v);
      return;
    case "n":
    case "q": {
      if (typeof v !== "number" || !Number.isInteger(v)) typeError(t, v);
      if (code === "n" ? v < -0x8000 || v > 0x7fff : v < 0 || v > 0xffff) typeError(t, v);
      w.ensure(2);
      if (code === "n") w.view.setInt16(w.pos, v, true);
      else w.view.setUint16(w.pos, v, true);
      w.pos += 2;
      return;
    }
    case "i":
    case "h":
    case "u": {
      if (typeof v !== "number" || !Number.isInteger(v)) typeError(t, v);
      if (code === "u" ? v < 0 || v > 0xffffffff : v < -0x80000000 || v > 0x7fffffff) typeError(t, v);
      w.ensure(4);
      if (code === "u") w.view.setUint32(w.pos, v, true);
      else w.view.setInt32(w.pos, v, true);
      w.pos += 4;
      return;
    }
    case "x":
    case "t": {
      const b = typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v;
      if (typeof b !== "bigint") typeError(t, v);
      w.ensure(8);
      if (code === "t") {
        if (b < 0n || b > 0xffffffffffffffffn) typeError(t, v);
        w.view.setBigUint64(w.pos, b, true);
      } else {
        if (b < -(2n ** 63n) || b >= 2n ** 63n) typeError(t, v);
        w.view.setBigInt64(w.pos, b, true);
      }
      w.pos += 8;
      return;
    }
    case "d":
      if (typeof v !== "number") typeError(t, v);
      w.ensure(8);
      w.view.setFloat64(w.pos, v, true);
      w.pos += 8;
      return;
    default: {
      // s, o, g; a lone surrogate has no UTF-8 form (TextEncoder would silently write U+FFFD)
      if (typeof v !== "string" || v.includes("\0") || hasLoneSurrogate(v)) typeError(t, v);
      if ((code === "o" && !isObjectPath(v)) || (code === "g" && !isSignature(v))) typeError(t, v);
      w.bytes(enc.encode(v));
      w.byte(0);
      return;
    }
  }
}

/**
 * Serialize `value` as GVariant type `type`, in normal form.
 * @throws ArborError GVARIANT_INVALID if the value does not fit the type.
 * @example serialize("(uuua(ayay))", [0, 0, 0x41ed, []])
 */
export function serialize(type: string | GVType, value: GVValue): Uint8Array {
  const t = typeof type === "string" ? parseType(type) : type;
  const w = new Writer();
  writeValue(w, t, value);
  return w.buf.slice(0, w.pos);
}
