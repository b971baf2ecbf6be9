/**
 * bsdiff generation in the raw mendsley/bsdiff stream static deltas carry (fact sheet §6.3,
 * applied by bspatch.ts): a suffix array of the old file (Larsson–Sadakane qsufsort), then a
 * scan of the new file for long approximate matches; each block is {control triple, bytewise
 * difference against the old data, extra bytes}. Differences are mostly zeros where the files
 * agree, which the part's xz compression squeezes. Memory: two Int32Arrays of the old size.
 */
import { encodeOff } from "./bspatch.js";

function split(I: Int32Array, V: Int32Array, startIn: number, lenIn: number, h: number): void {
  let start = startIn;
  let len = lenIn;
  for (;;) {
    if (len < 16) {
      for (let k = start; k < start + len; ) {
        let j = 1;
        let x = V[I[k]! + h]!;
        for (let i = 1; k + i < start + len; i++) {
          const v = V[I[k + i]! + h]!;
          if (v < x) {
            x = v;
            j = 0;
          }
          if (v === x) {
            const t = I[k + j]!;
            I[k + j] = I[k + i]!;
            I[k + i] = t;
            j++;
          }
        }
        for (let i = 0; i < j; i++) V[I[k + i]!] = k + j - 1;
        if (j === 1) I[k] = -1;
        k += j;
      }
      return;
    }
    const x = V[I[start + (len >> 1)]! + h]!;
    let jj = 0;
    let kk = 0;
    for (let i = start; i < start + len; i++) {
      const v = V[I[i]! + h]!;
      if (v < x) jj++;
      if (v === x) kk++;
    }
    jj += start;
    kk += jj;
    let i = start;
    let j = 0;
    let k = 0;
    while (i < jj) {
      const v = V[I[i]! + h]!;
      if (v < x) i++;
      else if (v === x) {
        const t = I[i]!;
        I[i] = I[jj + j]!;
        I[jj + j] = t;
        j++;
      } else {
        const t = I[i]!;
        I[i] = I[kk + k]!;
        I[kk + k] = t;
        k++;
      }
    }
    while (jj + j < kk) {
      if (V[I[jj + j]! + h] === x) j++;
      else {
        const t = I[jj + j]!;
        I[jj + j] = I[kk + k]!;
        I[kk + k] = t;
        k++;
      }
    }
    if (jj > start) split(I, V, start, jj - start, h);
    for (let m = 0; m < kk - jj; m++) V[I[jj + m]!] = kk - 1;
    if (jj === kk - 1) I[jj] = -1;
    if (start + len <= kk) return;
    // the upper part: iterate instead of recursing, to bound the stack depth
    len = start + len - kk;
    start = kk;
  }
}

/** Suffix array of `old` (entry 0 is the empty suffix). */
export function suffixArray(old: Uint8Array): Int32Array {
  const n = old.length;
  const I = new Int32Array(n + 1);
  const V = new Int32Array(n + 1);
  const buckets = new Int32Array(256);
  for (let i = 0; i < n; i++) buckets[old[i]!]!++;
  for (let i = 1; i < 256; i++) buckets[i]! += buckets[i - 1]!;
  for (let i = 255; i > 0; i--) buckets[i] = buckets[i - 1]!;
  buckets[0] = 0;
  for (let i = 0; i < n; i++) I[++buckets[old[i]!]!] = i;
  I[0] = n;
  for (let i = 0; i < n; i++) V[i] = buckets[old[i]!]!;
  V[n] = 0;
  for (let i = 1; i < 256; i++) if (buckets[i] === buckets[i - 1]! + 1) I[buckets[i]!] = -1;
  I[0] = -1;
  for (let h = 1; I[0] !== -(n + 1); h += h) {
    let len = 0;
    let i = 0;
    while (i < n + 1) {
      if (I[i]! < 0) {
        len -= I[i]!;
        i -= I[i]!;
      } else {
        if (len) I[i - len] = -len;
        len = V[I[i]!]! + 1 - i;
        split(I, V, i, len, h);
        i += len;
        len = 0;
      }
    }
    if (len) I[i - len] = -len;
  }
  for (let i = 0; i < n + 1; i++) I[V[i]!] = i;
  return I;
}

function matchLen(a: Uint8Array, ai: number, b: Uint8Array, bi: number): number {
  let i = 0;
  while (ai + i < a.length && bi + i < b.length && a[ai + i] === b[bi + i]) i++;
  return i;
}

/** Longest match of neu[at..] in old, by binary search of the suffix array. */
function search(I: Int32Array, old: Uint8Array, neu: Uint8Array, at: number): { pos: number; len: number } {
  let st = 0;
  let en = old.length;
  while (en - st >= 2) {
    const x = st + ((en - st) >> 1);
    const o = I[x]!;
    const n = Math.min(old.length - o, neu.length - at);
    let cmp = 0;
    for (let i = 0; i < n; i++) {
      if (old[o + i] !== neu[at + i]) {
        cmp = old[o + i]! < neu[at + i]! ? -1 : 1;
        break;
      }
    }
    if (cmp < 0) st = x;
    else en = x;
  }
  const x = matchLen(old, I[st]!, neu, at);
  const y = matchLen(old, I[en]!, neu, at);
  return x > y ? { pos: I[st]!, len: x } : { pos: I[en]!, len: y };
}

/** A growable byte sink. */
class Sink {
  buf = new Uint8Array(1024);
  len = 0;
  push(b: Uint8Array | number[]): void {
    if (this.len + b.length > this.buf.length) {
      const nb = new Uint8Array(Math.max(this.buf.length * 2, this.len + b.length));
      nb.set(this.buf.subarray(0, this.len));
      this.buf = nb;
    }
    this.buf.set(b, this.len);
    this.len += b.length;
  }
}

/** The bsdiff stream turning `old` into `neu` (see the file comment). */
export function bsdiff(old: Uint8Array, neu: Uint8Array): Uint8Array {
  const I = suffixArray(old);
  const out = new Sink();
  const oldsize = old.length;
  const newsize = neu.length;
  let scan = 0;
  let len = 0;
  let pos = 0;
  let lastscan = 0;
  let lastpos = 0;
  let lastoffset = 0;
  while (scan < newsize) {
    let oldscore = 0;
    scan += len;
    let scsc = scan;
    for (; scan < newsize; scan++) {
      ({ pos, len } = search(I, old, neu, scan));
      for (; scsc < scan + len; scsc++)
        if (scsc + lastoffset < oldsize && old[scsc + lastoffset] === neu[scsc]) oldscore++;
      if ((len === oldscore && len !== 0) || len > oldscore + 8) break;
      if (scan + lastoffset < oldsize && old[scan + lastoffset] === neu[scan]) oldscore--;
    }
    if (len === oldscore && scan !== newsize) continue;
    let s = 0;
    let sf = 0;
    let lenf = 0;
    for (let i = 0; lastscan + i < scan && lastpos + i < oldsize; ) {
      if (old[lastpos + i] === neu[lastscan + i]) s++;
      i++;
      if (s * 2 - i > sf * 2 - lenf) {
        sf = s;
        lenf = i;
      }
    }
    let lenb = 0;
    if (scan < newsize) {
      s = 0;
      let sb = 0;
      for (let i = 1; scan >= lastscan + i && pos >= i; i++) {
        if (old[pos - i] === neu[scan - i]) s++;
        if (s * 2 - i > sb * 2 - lenb) {
          sb = s;
          lenb = i;
        }
      }
    }
    if (lastscan + lenf > scan - lenb) {
      const overlap = lastscan + lenf - (scan - lenb);
      s = 0;
      let ss = 0;
      let lens = 0;
      for (let i = 0; i < overlap; i++) {
        if (neu[lastscan + lenf - overlap + i] === old[lastpos + lenf - overlap + i]) s++;
        if (neu[scan - lenb + i] === old[pos - lenb + i]) s--;
        if (s > ss) {
          ss = s;
          lens = i + 1;
        }
      }
      lenf += lens - overlap;
      lenb -= lens;
    }
    const extra = scan - lenb - (lastscan + lenf);
    out.push(encodeOff(lenf));
    out.push(encodeOff(extra));
    out.push(encodeOff(pos - lenb - (lastpos + lenf)));
    const diff = new Uint8Array(lenf);
    for (let i = 0; i < lenf; i++) diff[i] = (neu[lastscan + i]! - old[lastpos + i]!) & 0xff;
    out.push(diff);
    out.push(neu.subarray(lastscan + lenf, lastscan + lenf + extra));
    lastscan = scan - lenb;
    lastpos = pos - lenb;
    lastoffset = pos - scan;
  }
  return out.buf.slice(0, out.len);
}
