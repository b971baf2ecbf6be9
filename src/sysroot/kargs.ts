/**
 * Kernel command-line arguments, edited the way OSTree edits them so that BLS `options` lines come
 * out byte-identical.
 *
 * Model: an ordered list of entries `{key, value}` (value null for a bare `quiet`). Arguments are
 * split on single spaces only (`"a  b"` keeps an empty argument between them, as g_strsplit does).
 * - `append(arg)` adds at the end, even if the key exists (`console=` may repeat);
 * - `replace(arg)` removes every entry with that key and puts the new one where the first of them
 *   was (at the end if the key is new) — so `ostree=` keeps its position across deployments;
 * - `delete(arg)` removes one entry, by key if the key is unique, else by exact `key=value`.
 */
import { ArborError } from "../errors.js";

interface Entry {
  key: string;
  value: string | null;
}

function splitKeyEq(arg: string): Entry {
  const eq = arg.indexOf("=");
  return eq < 0 ? { key: arg, value: null } : { key: arg.slice(0, eq), value: arg.slice(eq + 1) };
}

function render(e: Entry): string {
  return e.value === null ? e.key : `${e.key}=${e.value}`;
}

/** An editable, order-preserving kernel argument list. */
export class KernelArgs {
  private entries: Entry[] = [];

  /**
   * Parse an `options` string (null or "" gives an empty list).
   * @example KernelArgs.parse("root=/dev/vda quiet").toString() === "root=/dev/vda quiet"
   */
  static parse(options: string | null | undefined): KernelArgs {
    const k = new KernelArgs();
    if (options) k.appendAll(options.split(" "));
    return k;
  }

  /** A list built by appending each argument of `argv` in order. */
  static fromArgv(argv: readonly string[]): KernelArgs {
    const k = new KernelArgs();
    k.appendAll(argv);
    return k;
  }

  /** A copy. */
  clone(): KernelArgs {
    const k = new KernelArgs();
    k.entries = this.entries.map((e) => ({ ...e }));
    return k;
  }

  /** Add `arg` at the end. */
  append(arg: string): void {
    this.entries.push(splitKeyEq(arg));
  }

  /** {@link append} each argument, skipping those starting with one of `skipPrefixes`. */
  appendAll(argv: readonly string[], skipPrefixes: readonly string[] = []): void {
    for (const a of argv) if (!skipPrefixes.some((p) => a.startsWith(p))) this.append(a);
  }

  /** Append `arg` unless an argument with its key exists. */
  appendIfMissing(arg: string): void {
    if (!this.contains(arg)) this.append(arg);
  }

  /** True if an argument with the key of `arg` exists. */
  contains(arg: string): boolean {
    const { key } = splitKeyEq(arg);
    return this.entries.some((e) => e.key === key);
  }

  /** Set `arg`, replacing every argument with the same key (see the module comment). */
  replace(arg: string): void {
    const e = splitKeyEq(arg);
    const first = this.entries.findIndex((x) => x.key === e.key);
    if (first < 0) {
      this.entries.push(e);
      return;
    }
    this.entries = this.entries.filter((x) => x.key !== e.key);
    this.entries.splice(first, 0, e);
  }

  /** {@link replace} each argument in order. */
  replaceAll(argv: readonly string[]): void {
    for (const a of argv) this.replace(a);
  }

  /**
   * Delete `arg` (`KEY` or `KEY=VALUE`).
   * @throws ArborError NOT_FOUND `No key 'x' found`, `No karg 'x=y' found`, `Multiple values for key 'x' found`
   */
  delete(arg: string): void {
    const { key, value } = splitKeyEq(arg);
    const same = this.entries.filter((e) => e.key === key);
    if (same.length === 0) throw new ArborError("NOT_FOUND", `No key '${key}' found`);
    if (same.length === 1) {
      if (value !== null && same[0]!.value !== value)
        throw new ArborError("NOT_FOUND", `No karg '${key}=${value}' found`);
      this.entries = this.entries.filter((e) => e.key !== key);
      return;
    }
    const hit = same.find((e) => e.value === value);
    if (!hit) {
      throw new ArborError(
        "NOT_FOUND",
        value === null ? `Multiple values for key '${arg}' found` : `No karg '${arg}' found`,
      );
    }
    this.entries.splice(this.entries.indexOf(hit), 1);
  }

  /** Delete `arg` if its key is present. @throws as {@link delete} */
  deleteIfPresent(arg: string): void {
    if (this.contains(arg)) this.delete(arg);
  }

  /** Value of the last argument with `key` (null for a bare key), undefined if absent. */
  lastValue(key: string): string | null | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--)
      if (this.entries[i]!.key === key) return this.entries[i]!.value;
    return undefined;
  }

  /** The arguments as strings, in order. */
  toArgv(): string[] {
    return this.entries.map(render);
  }

  /** The arguments joined by single spaces (the BLS `options` value). */
  toString(): string {
    return this.toArgv().join(" ");
  }
}

/** Prefixes ostree drops when importing `/proc/cmdline` (bootloader-injected arguments). */
export const PROC_CMDLINE_FILTERED = ["BOOT_IMAGE=", "initrd="] as const;

/** Kernel arguments from the text of `/proc/cmdline` (trailing whitespace removed, bootloader args dropped). */
export function kargsFromProcCmdline(text: string): KernelArgs {
  const k = new KernelArgs();
  const trimmed = text.replace(/\s+$/, "");
  if (trimmed) k.appendAll(trimmed.split(" "), PROC_CMDLINE_FILTERED);
  return k;
}
