/**
 * Boot Loader Specification entries (`/boot/loader.N/entries/ostree-*.conf`), read and written
 * byte-for-byte as OSTree 2022.7 does (fact sheet §7.5).
 *
 * Format: one `key value` per line. Reading: only lines whose first character is an ASCII letter
 * count; the key ends at the first space or tab and the rest of the line is the value; a later
 * duplicate key wins, except that a second `initrd` line is an overlay initrd. Writing: `title,
 * version, options, devicetree, linux, initrd`, then one `initrd` per overlay, then every other
 * key in GLib hash-table order (ostree keeps its keys in a GHashTable), each `key value\n`.
 */
import { ghashOrder } from "../gvariant/ghash-order.js";

const FIXED_ORDER = ["title", "version", "options", "devicetree", "linux", "initrd"] as const;

/** One BLS entry: an ordered set of keys plus optional overlay initrds. */
export class BootConfig {
  /** Keys in first-insertion order (the order GLib inserted them: it decides hash iteration). */
  private readonly values = new Map<string, string>();
  /** Extra `initrd` lines after the first (overlay initrds), as written. */
  overlayInitrds: string[] = [];

  /** Parse the text of an entry file. Never throws: unknown lines are ignored, as by ostree. */
  static parse(text: string): BootConfig {
    const bc = new BootConfig();
    for (const line of text.split("\n")) {
      if (!/^[A-Za-z]/.test(line)) continue;
      const m = /[ \t]/.exec(line);
      if (!m) continue;
      const key = line.slice(0, m.index);
      const value = line.slice(m.index + 1);
      if (key === "initrd" && bc.values.has("initrd")) bc.overlayInitrds.push(value);
      else bc.values.set(key, value);
    }
    return bc;
  }

  /** A deep copy. */
  clone(): BootConfig {
    const bc = new BootConfig();
    for (const [k, v] of this.values) bc.values.set(k, v);
    bc.overlayInitrds = [...this.overlayInitrds];
    return bc;
  }

  /** The value of `key`, or undefined. */
  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** Set `key` (a new key goes after the existing ones in insertion order). */
  set(key: string, value: string): void {
    this.values.set(key, value);
  }

  /** Every key/value pair, in insertion order. */
  entries(): Array<[string, string]> {
    return [...this.values];
  }

  /** The file contents ostree would write for this entry. */
  serialize(): string {
    let out = "";
    const written = new Set<string>();
    for (const k of FIXED_ORDER) {
      const v = this.values.get(k);
      if (v === undefined) continue;
      out += `${k} ${v}\n`;
      written.add(k);
    }
    if (written.has("initrd")) for (const i of this.overlayInitrds) out += `initrd ${i}\n`;
    for (const k of ghashOrder(this.values.keys())) {
      if (!written.has(k)) out += `${k} ${this.values.get(k)}\n`;
    }
    return out;
  }
}

/**
 * The entry file name for deployment `index` of `count` (2022.7 style): `ostree-N-STATEROOT.conf`
 * with N = count − index, so the default deployment has the highest N.
 */
export function blsEntryName(count: number, index: number, osname: string): string {
  return `ostree-${count - index}-${osname}.conf`;
}

/** True for names ostree reads as entries: `ostree-*.conf`. */
export function isBlsEntryName(name: string): boolean {
  return name.startsWith("ostree-") && name.endsWith(".conf");
}

/**
 * glibc strverscmp(3): compare strings treating digit runs as numbers (a run with leading zeros is
 * a fraction). Used to sort entries by their `version` key, as ostree does. A faithful transcription
 * of glibc's state machine, over UTF-8 bytes.
 */
export function strverscmp(a: string, b: string): number {
  const s1 = Buffer.from(`${a}\0`, "utf8");
  const s2 = Buffer.from(`${b}\0`, "utf8");
  const cls = (c: number): number => (c === 0x30 ? 2 : c > 0x30 && c <= 0x39 ? 1 : 0);
  const digit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;
  let i = 0;
  let c1 = s1[i]!;
  let c2 = s2[i]!;
  i++;
  let state = cls(c1);
  let diff = c1 - c2;
  while (diff === 0) {
    if (c1 === 0) return 0;
    state = NEXT_STATE[state]!;
    c1 = s1[i]!;
    c2 = s2[i]!;
    i++;
    state += cls(c1);
    diff = c1 - c2;
  }
  const r = RESULT_TYPE[state * 3 + cls(c2)]!;
  if (r === CMP) return diff;
  if (r === LEN) {
    let j = i;
    while (digit(s1[j++])) if (!digit(s2[j - 1])) return 1;
    return digit(s2[j - 1]) ? -1 : diff;
  }
  return r;
}

const CMP = 2;
const LEN = 3;
// state offsets: S_N = 0, S_I = 3, S_F = 6, S_Z = 9; class: other 0, digit 1, '0' 2
const NEXT_STATE = [0, 3, 9, 0, 3, 3, 0, 6, 6, 0, 6, 9];
// biome-ignore format: glibc's table, one row per state
const RESULT_TYPE = [
  CMP, CMP, CMP, CMP, LEN, CMP, CMP, CMP, CMP,
  CMP, -1, -1, +1, LEN, LEN, +1, LEN, LEN,
  CMP, CMP, CMP, CMP, CMP, CMP, CMP, CMP, CMP,
  CMP, +1, +1, -1, CMP, CMP, -1, CMP, CMP,
];
