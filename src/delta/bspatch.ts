/**
 * bspatch of the raw mendsley/bsdiff stream static deltas carry (fact sheet §6.3): no header and
 * no compression, a repetition of {three 8-byte control integers (little-endian magnitude, sign
 * in the top bit of the last byte): diff length, extra length, old seek; `diff length` bytes
 * added bytewise to the old data; `extra length` bytes copied} until the new file is complete.
 */
import { ArborError } from "../errors.js";

function corrupt(detail: string): ArborError {
  return new ArborError("OBJECT_CORRUPT", `Invalid static delta: bsdiff patch ${detail}`);
}

function readOff(p: Uint8Array, at: number): number {
  if (at + 8 > p.length) throw corrupt("is truncated (control block)");
  let v = 0;
  for (let i = 6; i >= 0; i--) v = v * 256 + p[at + i]!;
  v += (p[at + 7]! & 0x7f) * 2 ** 56;
  if (!Number.isSafeInteger(v)) throw corrupt("has an out-of-range control value");
  return p[at + 7]! & 0x80 ? -v : v;
}

/** Encode one control integer (for patch generation and tests). */
export function encodeOff(n: number): Uint8Array {
  const out = new Uint8Array(8);
  let v = Math.abs(n);
  for (let i = 0; i < 8; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  if (n < 0) out[7]! |= 0x80;
  return out;
}

/**
 * Apply `patch` to `old`, producing exactly `newSize` bytes.
 * Every new byte comes from a diff or extra byte of the patch, so a `newSize` larger than the
 * patch is refused before anything is allocated (it comes from hostile delta operations).
 * @throws ArborError OBJECT_CORRUPT when the patch is truncated, negative lengths, writes past
 *   `newSize`, or is too short to produce `newSize` bytes.
 */
export function bspatch(old: Uint8Array, patch: Uint8Array, newSize: number): Uint8Array {
  if (!Number.isSafeInteger(newSize) || newSize < 0 || newSize > patch.length)
    throw corrupt(`of ${patch.length} bytes cannot produce ${newSize} bytes`);
  const out = new Uint8Array(newSize);
  let oldPos = 0;
  let newPos = 0;
  let p = 0;
  while (newPos < newSize) {
    const diffLen = readOff(patch, p);
    const extraLen = readOff(patch, p + 8);
    const seek = readOff(patch, p + 16);
    p += 24;
    if (diffLen < 0 || extraLen < 0) throw corrupt("has a negative length");
    if (newPos + diffLen > newSize) throw corrupt("writes past the end of the new file");
    if (p + diffLen > patch.length) throw corrupt("is truncated (diff data)");
    for (let i = 0; i < diffLen; i++) {
      const o = oldPos + i;
      out[newPos + i] = (patch[p + i]! + (o >= 0 && o < old.length ? old[o]! : 0)) & 0xff;
    }
    p += diffLen;
    newPos += diffLen;
    oldPos += diffLen;
    if (newPos + extraLen > newSize) throw corrupt("writes past the end of the new file");
    if (p + extraLen > patch.length) throw corrupt("is truncated (extra data)");
    out.set(patch.subarray(p, p + extraLen), newPos);
    p += extraLen;
    newPos += extraLen;
    oldPos += seek;
  }
  return out;
}
