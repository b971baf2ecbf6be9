/**
 * The per-directory system calls of a drift walk: list a deployment directory, lstat every name its
 * dirtree expects and, for each file, the repository object it should be a hardlink of.
 *
 * The native addon does a directory in one call (`scanDir` in native/scan_dir.c: fstatat relative
 * to the directory, only numbers handed back), which is what makes `admin drift --quick` cheap; the
 * same work in plain Node (readdir, two Stats per file) is the fallback when the addon is missing
 * or older than this function, and when the addon cannot read the directory (it then throws the
 * error with its cause). Both give the same answer.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync } from "node:fs";
import { hasNative, native } from "../io/native.js";

/**
 * Numbers per entry in a scan's result, files first then directories:
 * `[dev, ino, mode, mtimeMs, uid, gid, objectDev, objectIno]`. `dev` is -1 when the entry is
 * absent, -2 when it could not be stat'ed (the caller stats it again to report why); the object
 * fields use the same codes, are filled for files present only, and are 0 for directories.
 */
export const SCAN_FIELDS = 8;

/** The dirtree lists a scan takes (extra properties are ignored). */
export interface ScanLists {
  files: ReadonlyArray<{ readonly name: string; readonly checksum: string }>;
  dirs: ReadonlyArray<{ readonly name: string }>;
}

/** Where a file's object is: `${prefix}${cs[0..2]}/${cs[2..]}${suffix}`. */
export interface ObjectLocation {
  /** The repository's `objects/` directory with a trailing slash. */
  prefix: string;
  /** `.file` or `.filez`. */
  suffix: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** lstat `p` into out[at..]: -1 absent, -2 failed; `full` adds mode, mtime, uid, gid. */
function statInto(out: Float64Array, at: number, p: string, full: boolean): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(p, { throwIfNoEntry: false });
  } catch (e) {
    out[at] = (e as NodeJS.ErrnoException).code === "ENOTDIR" ? -1 : -2;
    return;
  }
  if (!st) {
    out[at] = -1;
    return;
  }
  out[at] = st.dev;
  out[at + 1] = st.ino;
  if (full) {
    out[at + 2] = st.mode;
    out[at + 3] = st.mtimeMs;
    out[at + 4] = st.uid;
    out[at + 5] = st.gid;
  }
}

/**
 * The plain-Node scan (see the module comment).
 * @throws Node system errors from readdir (ENOENT, EACCES…)
 */
export function scanDirJs(dir: string, lists: ScanLists, obj: ObjectLocation, out: Float64Array): string[] {
  const onDisk = new Set(readdirSync(dir));
  const nf = lists.files.length;
  out.fill(0, 0, (nf + lists.dirs.length) * SCAN_FIELDS);
  for (let i = 0; i < nf; i++) {
    const { name, checksum: cs } = lists.files[i]!;
    const at = i * SCAN_FIELDS;
    if (!onDisk.delete(name)) {
      out[at] = -1;
      continue;
    }
    statInto(out, at, `${dir}/${name}`, true);
    if (out[at]! < 0) continue;
    if (HEX64.test(cs))
      statInto(out, at + 6, `${obj.prefix}${cs.slice(0, 2)}/${cs.slice(2)}${obj.suffix}`, false);
    else out[at + 6] = -2;
  }
  lists.dirs.forEach((d, j) => {
    const at = (nf + j) * SCAN_FIELDS;
    if (onDisk.delete(d.name)) statInto(out, at, `${dir}/${d.name}`, true);
    else out[at] = -1;
  });
  return [...onDisk].sort();
}

let useNative: boolean | undefined;

/**
 * Scans the directories of one walk. With the native addon, the objects directory is opened once
 * (on the first scan) and every object is looked up relative to it; {@link DirScanner.close} closes it.
 */
export class DirScanner {
  private objectsFd = -1;

  constructor(private readonly obj: ObjectLocation) {}

  /**
   * Scan directory `dir` against its dirtree `lists` into `out` (at least
   * `(files + dirs) × SCAN_FIELDS` numbers, see {@link SCAN_FIELDS}).
   * @returns the names on disk in neither list
   * @throws Node system errors when `dir` (or the objects directory) cannot be read
   */
  scan(dir: string, lists: ScanLists, out: Float64Array): string[] {
    useNative ??= hasNative() && typeof native().scanDir === "function";
    if (useNative) {
      if (this.objectsFd < 0)
        this.objectsFd = openSync(this.obj.prefix, constants.O_RDONLY | constants.O_DIRECTORY);
      const extra = native().scanDir!(dir, lists.files, lists.dirs, this.objectsFd, this.obj.suffix, out);
      if (extra) return extra;
    }
    return scanDirJs(dir, lists, this.obj, out);
  }

  /** Close the objects directory (if a scan opened it). */
  close(): void {
    if (this.objectsFd >= 0) closeSync(this.objectsFd);
    this.objectsFd = -1;
  }
}
