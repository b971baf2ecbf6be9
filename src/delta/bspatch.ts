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
 * @throws ArborError OBJECT_CORRUPT when the patch is truncated, negative lengths, or writes past
 *   `newSize`.
 */
export function bspatch(old: Uint8Array, patch: Uint8Array, newSize: number): Uint8Array {
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

/**
 * A valid bsdiff stream turning `old` into `neu`, built from their common prefix and suffix:
 * the prefix as a zero difference, the changed middle as extra data, the suffix as a zero
 * difference again. Files changed in one place (an in-place edit, an insertion, an append or a
 * prepended header) give a patch of little more than the changed bytes plus zeros, which xz
 * compresses to almost nothing. Not bsdiff's suffix-sorting search, but compatible with bspatch.
 */
export function bsdiffPrefixSuffix(old: Uint8Array, neu: Uint8Array): Uint8Array {
  const max = Math.min(old.length, neu.length);
  let pre = 0;
  while (pre < max && old[pre] === neu[pre]) pre++;
  let suf = 0;
  while (suf < max - pre && old[old.length - 1 - suf] === neu[neu.length - 1 - suf]) suf++;
  const extra = neu.length - pre - suf;
  const out = new Uint8Array(48 + neu.length);
  out.set(encodeOff(pre), 0);
  out.set(encodeOff(extra), 8);
  out.set(encodeOff(old.length - suf - pre), 16);
  // bytes [24, 24 + pre) stay zero: no difference over the prefix
  out.set(neu.subarray(pre, pre + extra), 24 + pre);
  const at = 24 + pre + extra;
  out.set(encodeOff(suf), at);
  out.set(encodeOff(0), at + 8);
  out.set(encodeOff(0), at + 16);
  return out;
}
