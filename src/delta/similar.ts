/**
 * Which new files of a FROM-TO delta are "modified" versions of old ones, worth a bsdiff patch,
 * by ostree's rule: a regular file of non-zero size whose basename (exactly, or failing that the
 * part before the first '.') matches one of an old regular file's names and whose size is within
 * ±30% of it. Files named `*.xz` or `*.bz2` are already compressed and never candidates.
 */

/** A regular content object with its size and every basename it has in a commit. */
export interface SizeNames {
  checksum: string;
  size: number;
  names: string[];
}

const SIMILARITY_PERCENT = 30;

function candidate(s: SizeNames): boolean {
  if (s.size === 0) return false;
  return !s.names.some((n) => {
    const dot = n.lastIndexOf(".");
    const ext = dot < 0 ? "" : n.slice(dot + 1);
    return ext === "xz" || ext === "bz2";
  });
}

function namesIntersect(a: string[], b: string[], fuzzy: boolean): boolean {
  for (const x of a) {
    const xd = x.indexOf(".");
    for (const y of b) {
      const yd = y.indexOf(".");
      if (fuzzy && xd > 0 && yd === xd) {
        if (x.slice(0, xd) === y.slice(0, yd)) return true;
      } else if (x === y) return true;
    }
  }
  return false;
}

/**
 * Map each new file (to checksum) to the old file (from checksum) it most likely replaces.
 * @param from every regular file of the from-commit; @param to the new regular files.
 */
export function similarObjects(from: SizeNames[], to: SizeNames[]): Map<string, string> {
  const olds = [...from].sort((a, b) => a.size - b.size);
  const out = new Map<string, string>();
  for (const t of [...to].sort((a, b) => a.size - b.size)) {
    if (!candidate(t)) continue;
    const min = t.size * (1 - SIMILARITY_PERCENT / 100);
    const max = t.size * (1 + SIMILARITY_PERCENT / 100);
    for (let fuzzy = 0; fuzzy < 2 && !out.has(t.checksum); fuzzy++) {
      for (const f of olds) {
        if (!candidate(f) || f.size < min) continue;
        if (f.size > max) break;
        if (!namesIntersect(f.names, t.names, fuzzy === 1)) continue;
        out.set(t.checksum, f.checksum);
        break;
      }
    }
  }
  return out;
}
