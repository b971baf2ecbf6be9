/**
 * Comparing two directory trees on disk the way `ostree_diff_dirs(IGNORE_XATTRS)` does, for the
 * /etc merge and `admin config-diff`: two entries are the same when type, owner, mode and content
 * (or symlink target) are equal; xattrs are ignored (SELinux labels differ between `usr/etc` and
 * `etc` by design). Entries are visited in readdir order, as ostree does, so listings match.
 */
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from "node:fs";
import { join } from "node:path";
import { errnoCode, fromSystemError } from "../errors.js";

/** Paths relative to the compared roots. */
export interface DirDiff {
  /** In both, but different (or of a different type). */
  modified: string[];
  /** Only in the first tree. */
  removed: string[];
  /** Only in the second tree (directories are followed by their contents). */
  added: string[];
}

function lstatMaybe(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOENT" || c === "ENOTDIR") return null;
    throw fromSystemError(`Cannot stat "${p}"`, e);
  }
}

const BUF_A = Buffer.allocUnsafe(64 * 1024);
const BUF_B = Buffer.allocUnsafe(64 * 1024);

function sameContent(a: string, b: string, size: number): boolean {
  const fa = openSync(a, "r");
  try {
    const fb = openSync(b, "r");
    try {
      let off = 0;
      while (off < size) {
        const n = readSync(fa, BUF_A, 0, BUF_A.length, off);
        const m = readSync(fb, BUF_B, 0, BUF_B.length, off);
        if (n !== m || n === 0) return n === m;
        if (BUF_A.compare(BUF_B, 0, m, 0, n) !== 0) return false;
        off += n;
      }
      return true;
    } finally {
      closeSync(fb);
    }
  } finally {
    closeSync(fa);
  }
}

/** True if the two entries have the same OSTree checksum (ignoring xattrs). */
export function sameEntry(a: string, sa: Stats, b: string, sb: Stats): boolean {
  if (sa.mode !== sb.mode || sa.uid !== sb.uid || sa.gid !== sb.gid) return false;
  if (sa.isSymbolicLink()) return readlinkSync(a) === readlinkSync(b);
  if (sa.isFile()) {
    if (sa.size !== sb.size) return false;
    if (sa.dev === sb.dev && sa.ino === sb.ino) return true;
    return sameContent(a, b, sa.size);
  }
  if (sa.isDirectory()) return true;
  return sa.rdev === sb.rdev;
}

function typeOf(st: Stats): string {
  if (st.isDirectory()) return "d";
  if (st.isFile()) return "f";
  if (st.isSymbolicLink()) return "l";
  return "o";
}

function addRecurse(root: string, rel: string, added: string[]): void {
  for (const name of readdirSync(join(root, rel))) {
    const child = rel ? `${rel}/${name}` : name;
    added.push(child);
    if (lstatSync(join(root, child)).isDirectory()) addRecurse(root, child, added);
  }
}

function diffInto(a: string, b: string, rel: string, out: DirDiff): void {
  const da = join(a, rel);
  const db = join(b, rel);
  for (const name of readdirSync(da)) {
    const child = rel ? `${rel}/${name}` : name;
    const sa = lstatSync(join(a, child));
    const sb = lstatMaybe(join(b, child));
    if (!sb) {
      out.removed.push(child);
      continue;
    }
    if (typeOf(sa) !== typeOf(sb)) {
      out.modified.push(child);
      continue;
    }
    if (!sameEntry(join(a, child), sa, join(b, child), sb)) out.modified.push(child);
    if (sa.isDirectory()) diffInto(a, b, child, out);
  }
  for (const name of readdirSync(db)) {
    const child = rel ? `${rel}/${name}` : name;
    if (lstatMaybe(join(a, child))) continue;
    out.added.push(child);
    if (lstatSync(join(b, child)).isDirectory()) addRecurse(b, child, out.added);
  }
}

/**
 * Diff directory `a` (e.g. `usr/etc`) against `b` (e.g. `etc`).
 * @throws ArborError NOT_FOUND if either root is missing, IO
 */
export function diffDirs(a: string, b: string): DirDiff {
  const out: DirDiff = { modified: [], removed: [], added: [] };
  try {
    diffInto(a, b, "", out);
  } catch (e) {
    throw fromSystemError(`Cannot compare "${a}" with "${b}"`, e);
  }
  return out;
}
