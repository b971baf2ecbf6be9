/**
 * GLib GHashTable iteration order for string keys.
 *
 * `ostree commit` and `ostree summary` build their `a{sv}` metadata in a GVariantDict, which is a
 * GHashTable keyed by g_str_hash; the serialized dictionary therefore lists keys in hash-table
 * slot order, not insertion order. Reproducing OSTree's checksums byte for byte needs that
 * order, so this module models the table (GLib 2.6x+ layout): open addressing over a
 * power-of-two array, initial index `(hash * 11) % prime`, triangular probing, grow when the
 * table is 15/16 occupied (new size from nnodes × 1.333), rehash in place in slot order.
 * Verified against the real ostree by the interop tests (commits with many metadata keys).
 */

// prime_mod[shift] from GLib's ghash.c (largest prime below 2^shift)
const PRIME_MOD = [
  1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, 262139, 524287,
  1048573,
];
const MIN_SHIFT = 3;

/** g_str_hash: djb2 over the UTF-8 bytes taken as signed chars, 32-bit. */
export function gStrHash(s: string): number {
  let h = 5381;
  for (const c of Buffer.from(s, "utf8")) {
    const sc = c > 127 ? c - 256 : c;
    h = (Math.imul(h, 33) + sc) >>> 0;
  }
  return h;
}

function closestShift(n: number): number {
  let i = 0;
  for (; n; i++) n >>= 1;
  return Math.max(i, MIN_SHIFT);
}

class Table {
  constructor(private readonly hashOf: (key: string) => number = gStrHash) {}

  shift = MIN_SHIFT;
  size = 1 << MIN_SHIFT;
  mod = PRIME_MOD[MIN_SHIFT]!;
  mask = this.size - 1;
  hashes: number[] = new Array(this.size).fill(0);
  keys: (string | null)[] = new Array(this.size).fill(null);
  nnodes = 0;
  noccupied = 0;

  index(hash: number): number {
    return Number((BigInt(hash) * 11n) & 0xffffffffn) % this.mod;
  }

  insert(key: string): void {
    let hash = this.hashOf(key) >>> 0;
    if (hash < 2) hash = 2; // 0 = unused, 1 = tombstone
    let i = this.index(hash);
    let step = 0;
    while (this.hashes[i] !== 0) {
      if (this.hashes[i] === hash && this.keys[i] === key) return; // replace value: same slot
      step++;
      i = (i + step) & this.mask;
    }
    this.hashes[i] = hash;
    this.keys[i] = key;
    this.nnodes++;
    this.noccupied++;
    this.maybeResize();
  }

  maybeResize(): void {
    const { noccupied, size } = this;
    if ((size > this.nnodes * 4 && size > 1 << MIN_SHIFT) || size <= noccupied + Math.floor(noccupied / 16)) {
      this.resize();
    }
  }

  resize(): void {
    const oldSize = this.size;
    this.shift = closestShift(Math.trunc(this.nnodes * 1.333));
    this.size = 1 << this.shift;
    this.mod = PRIME_MOD[this.shift]!;
    this.mask = this.size - 1;
    const n = Math.max(this.size, oldSize);
    while (this.hashes.length < n) {
      this.hashes.push(0);
      this.keys.push(null);
    }
    const moved = new Array<boolean>(n).fill(false);
    for (let i = 0; i < oldSize; i++) {
      let hash = this.hashes[i]!;
      if (hash < 2) {
        this.hashes[i] = 0;
        continue;
      }
      if (moved[i]) continue;
      this.hashes[i] = 0;
      let key = this.keys[i]!;
      this.keys[i] = null;
      for (;;) {
        let j = this.index(hash);
        let step = 0;
        while (moved[j]) {
          step++;
          j = (j + step) & this.mask;
        }
        moved[j] = true;
        const replacedHash = this.hashes[j]!;
        const replacedKey = this.keys[j]!;
        this.hashes[j] = hash;
        this.keys[j] = key;
        if (replacedHash < 2) break;
        hash = replacedHash;
        key = replacedKey;
      }
    }
    this.hashes.length = this.size;
    this.keys.length = this.size;
    this.noccupied = this.nnodes;
  }
}

/**
 * The order in which a GHashTable (hence a GVariantDict) built by inserting `keys` in this order
 * iterates them. Re-inserting a key keeps its slot. `hash` replaces g_str_hash for tables with
 * another hash function (e.g. ostree_collection_ref_hash over an encoded key).
 */
export function ghashOrder(keys: Iterable<string>, hash: (key: string) => number = gStrHash): string[] {
  const t = new Table(hash);
  for (const k of keys) t.insert(k);
  return t.keys.filter((k): k is string => k !== null);
}

/** Reorder (key, value) pairs as a GVariantDict would serialize them; later duplicates win. */
export function ghashOrderPairs<V>(pairs: Array<[string, V]>): Array<[string, V]> {
  const values = new Map<string, V>();
  for (const [k, v] of pairs) values.set(k, v);
  return ghashOrder(pairs.map(([k]) => k)).map((k) => [k, values.get(k)!]);
}
