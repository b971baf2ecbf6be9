/**
 * A fast reader for the one shape every dirtree has, `(a(say)a(sayay))`, for the walks that read
 * hundreds of them (checkout, fsck, pull): the generic GVariant reader builds arrays and tuples
 * and copies every checksum before `decodeDirtree()` turns them into hex strings, which costs
 * more than the checkout's system calls.
 *
 * It is an accelerator, not a second validator: it returns a result only for input it has fully
 * checked and read exactly as the generic path does (same framing rules, same name and order
 * checks), and null for anything else — malformed, unusual or merely not plain ASCII/UTF-8 —
 * so the caller falls back to the generic decoder, which gives the result or the exact error.
 */
import { compareNames } from "./checksum.js";
import type { Dirtree, DirtreeDir, DirtreeFile } from "./metadata.js";

/** Offset width of a GVariant container of `size` bytes (dirtrees are far below 4 GiB). */
function width(size: number): number {
  return size === 0 ? 0 : size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
}

function offsetAt(b: Buffer, pos: number, w: number): number {
  return w === 1 ? b[pos]! : w === 2 ? b.readUInt16LE(pos) : b.readUInt32LE(pos);
}

/**
 * The name in b[start, end) (a GVariant string: UTF-8 bytes then one 0 byte), or null if it is
 * not one, or not a valid dirtree name (empty, `.`, `..`, containing `/`).
 */
function nameAt(b: Buffer, start: number, end: number): string | null {
  if (end - start < 2 || b[end - 1] !== 0) return null;
  const s = b.toString("utf8", start, end - 1);
  // U+FFFD: invalid UTF-8 (or a real U+FFFD: the generic path decides); NUL: not a string
  if (s.includes("\uFFFD") || s.includes("\0") || s.includes("/") || s === "." || s === "..") return null;
  return s;
}

/** Element boundaries of a non-empty array of variable-size, 1-aligned elements in b[start, end). */
function elements(b: Buffer, start: number, end: number): number[] | null {
  const size = end - start;
  const w = width(size);
  if (size < w) return null;
  const tableStart = offsetAt(b, end - w, w);
  if (tableStart > size - w || (size - tableStart) % w !== 0 || size === tableStart) return null;
  const ends: number[] = [];
  let prev = 0;
  for (let p = start + tableStart; p < end; p += w) {
    const e = offsetAt(b, p, w);
    if (e < prev || e > tableStart) return null;
    ends.push(start + e);
    prev = e;
  }
  return ends;
}

/**
 * Member ends of a tuple element in b[start, end) whose `n` members are variable-size and
 * 1-aligned: offsets of all but the last are stored backwards from the end.
 */
function members(b: Buffer, start: number, end: number, n: number, out: number[]): boolean {
  const size = end - start;
  const w = width(size);
  let tableEnd = size;
  let prev = 0;
  for (let i = 0; i < n; i++) {
    let e: number;
    if (i === n - 1) e = tableEnd;
    else {
      tableEnd -= w;
      if (w === 0 || tableEnd < 0) return false;
      e = offsetAt(b, start + tableEnd, w);
    }
    if (prev > e || e > tableEnd) return false;
    out[i] = start + e;
    prev = e;
  }
  return true;
}

/**
 * The entries of a dirtree array in b[start, end): each a tuple of a name and `n - 1` checksums
 * (32 bytes each), names strictly ascending; `make` builds an entry from its name and the member
 * ends `m`. Null if anything is not so.
 */
function entries<T extends { name: string }>(
  b: Buffer,
  start: number,
  end: number,
  n: number,
  make: (name: string, m: number[]) => T,
): T[] | null {
  if (start === end) return [];
  const ends = elements(b, start, end);
  if (!ends) return null;
  const out: T[] = [];
  const m = new Array<number>(n).fill(0);
  let s = start;
  for (const e of ends) {
    if (!members(b, s, e, n, m)) return null;
    const name = nameAt(b, s, m[0]!);
    if (name === null) return null;
    for (let k = 1; k < n; k++) if (m[k]! - m[k - 1]! !== 32) return null;
    const prev = out[out.length - 1];
    if (prev && compareNames(prev.name, name) >= 0) return null;
    out.push(make(name, m));
    s = e;
  }
  return out;
}

const file = (name: string, m: number[], b: Buffer): DirtreeFile => ({
  name,
  checksum: b.toString("hex", m[0]!, m[1]!),
});

const dir = (name: string, m: number[], b: Buffer): DirtreeDir => ({
  name,
  tree: b.toString("hex", m[0]!, m[1]!),
  meta: b.toString("hex", m[1]!, m[2]!),
});

/**
 * Read a dirtree that is well-formed and valid, as `decodeDirtree()` would; null for anything
 * else (the caller then uses the generic decoder, which reports what is wrong).
 */
export function decodeDirtreeFast(bytes: Uint8Array): Dirtree | null {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const m = [0, 0];
  if (b.length === 0 || !members(b, 0, b.length, 2, m)) return null;
  const f = entries(b, 0, m[0]!, 2, (name, e) => file(name, e, b));
  const d = f && entries(b, m[0]!, m[1]!, 3, (name, e) => dir(name, e, b));
  if (!f || !d) return null;
  if (f.length && d.length) {
    const names = new Set(f.map((x) => x.name));
    for (const x of d) if (names.has(x.name)) return null;
  }
  return { files: f, dirs: d };
}
