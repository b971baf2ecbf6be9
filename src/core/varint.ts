/**
 * Unsigned LEB128 varints (static delta operations, `ostree.sizes` entries): 7 bits per byte,
 * least significant group first, high bit set on every byte but the last.
 */
import { ArborError } from "../errors.js";

/** A cursor over bytes holding varints. */
export interface Cursor {
  bytes: Uint8Array;
  pos: number;
}

/**
 * Read one varint at `c.pos` and advance. Values above 2^53 - 1 are refused (no size or offset
 * ostree writes comes close). `what` leads the error messages (e.g. "Invalid static delta").
 * @throws ArborError OBJECT_CORRUPT on a truncated or oversized varint.
 */
export function readVarint(c: Cursor, what = "Invalid varint", where = ""): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.bytes.length) throw new ArborError("OBJECT_CORRUPT", `${what}: truncated varint${where}`);
    const b = c.bytes[c.pos++]!;
    v += (b & 0x7f) * mul;
    if (!Number.isSafeInteger(v)) throw new ArborError("OBJECT_CORRUPT", `${what}: varint out of range`);
    if ((b & 0x80) === 0) return v;
    mul *= 128;
  }
  throw new ArborError("OBJECT_CORRUPT", `${what}: varint longer than 10 bytes`);
}

/** Encode a non-negative safe integer as a varint. */
export function encodeVarint(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
  const out: number[] = [];
  let v = n;
  for (;;) {
    const low = v % 128;
    v = Math.floor(v / 128);
    if (v === 0) {
      out.push(low);
      return out;
    }
    out.push(low | 0x80);
  }
}
