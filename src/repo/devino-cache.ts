/**
 * The (device, inode) → checksum cache behind `commit --link-checkout-speedup` (as ostree's
 * `ostree_repo_scan_hardlinks`): every loose content object of the repository (and of its
 * `core.parent` chain) is lstat'ed once, so that a file of the tree being committed which is a
 * hardlink of an object (a `checkout -H` tree) can be recognised by its inode alone.
 *
 * What is scanned, as ostree's command line scans it: `objects/XX/<62 hex>.file` of the parent
 * repositories first, then of this one (a later entry for the same inode wins). Archive
 * repositories store `.filez` objects, so they contribute nothing (ostree's `commit` never opens
 * the uncompressed-objects cache either). Names that are not a lowercase-hex checksum are skipped
 * (ostree takes any two-character directory and 62-character stem; a name that is not a checksum
 * is no object). Objects that vanish during the scan (a concurrent prune) are skipped.
 */
import { lstatSync, readdirSync, type Stats } from "node:fs";
import { join } from "node:path";
import { fromSystemError } from "../errors.js";
import type { Repo } from "./repo.js";

/** One cached object: its checksum and the repository it was found in (this one or a parent). */
export interface DevinoHit {
  checksum: string;
  repo: Repo;
}

const HEX2 = /^[0-9a-f]{2}$/;
const STEM = /^[0-9a-f]{62}\.file$/;

/** The key of a (device, inode) pair; exact even for inode numbers beyond 2^53. */
function keyOf(path: string, st: Pick<Stats, "dev" | "ino">): string {
  if (Number.isSafeInteger(st.ino) && Number.isSafeInteger(st.dev)) return `${st.dev}:${st.ino}`;
  // a Number lost precision: ask again for exact values
  const big = lstatSync(path, { bigint: true });
  return `${big.dev}:${big.ino}`;
}

/** (device, inode) → content object, built by {@link scanHardlinks}. */
export class DevinoCache {
  private readonly map = new Map<string, DevinoHit>();

  /** Number of objects cached. */
  get size(): number {
    return this.map.size;
  }

  /** Record `path` (already lstat'ed as `st`) as object `checksum` of `repo`. */
  add(path: string, st: Pick<Stats, "dev" | "ino">, checksum: string, repo: Repo): void {
    this.map.set(keyOf(path, st), { checksum, repo });
  }

  /**
   * The object `path` is a hardlink of, if any.
   * @param st the lstat of `path` (its dev and ino are used).
   */
  lookup(path: string, st: Pick<Stats, "dev" | "ino">): DevinoHit | undefined {
    if (this.map.size === 0) return undefined;
    return this.map.get(keyOf(path, st));
  }
}

function readNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") return [];
    throw fromSystemError(`Cannot scan objects in "${dir}"`, e);
  }
}

function scanRepo(repo: Repo, cache: DevinoCache): void {
  if (repo.parent) scanRepo(repo.parent, cache);
  if (repo.mode === "archive") return;
  const objects = join(repo.path, "objects");
  for (const prefix of readNames(objects)) {
    if (!HEX2.test(prefix)) continue;
    const dir = join(objects, prefix);
    for (const name of readNames(dir)) {
      if (!STEM.test(name)) continue;
      const path = join(dir, name);
      let st: Stats | undefined;
      try {
        st = lstatSync(path, { throwIfNoEntry: false });
      } catch (e) {
        throw fromSystemError(`Cannot scan object "${path}"`, e);
      }
      if (!st) continue;
      cache.add(path, st, prefix + name.slice(0, 62), repo);
    }
  }
}

/**
 * Scan the loose content objects of `repo` (and its parents) into a (device, inode) cache.
 * @throws ArborError IO (or the errno's code) when an objects directory or object cannot be read.
 */
export function scanHardlinks(repo: Repo): DevinoCache {
  const cache = new DevinoCache();
  scanRepo(repo, cache);
  return cache;
}
