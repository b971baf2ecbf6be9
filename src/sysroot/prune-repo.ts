/**
 * Pruning the system repository after a deployment change, as `ostree_sysroot_cleanup` does:
 * keep every commit a ref points to (depth 0: not its parents) and every deployed commit, with
 * their trees; delete every other loose object. Holds the repo lock exclusively meanwhile.
 *
 * This is the narrow prune the sysroot needs (refs-only, depth 0); the general `ostree prune`
 * (depths, --keep-younger-than, static deltas) belongs to the repository layer.
 */
import { lstatSync, readdirSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { acquireLock } from "../io/lock.js";
import { listRefs } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";

/** What a prune did. */
export interface PruneResult {
  total: number;
  pruned: number;
  freedBytes: number;
}

function key(cs: string, type: string): string {
  return `${cs}.${type}`;
}

/** Decoded dirtrees shared by the walks one command makes over the same commit. */
export type DirtreeCache = Map<string, ReturnType<Repo["loadDirtree"]>>;

/** `repo.loadDirtree` through `cache`. */
export function loadDirtreeCached(
  repo: Repo,
  cs: string,
  cache: DirtreeCache | undefined,
): ReturnType<Repo["loadDirtree"]> {
  let dt = cache?.get(cs);
  if (!dt) {
    dt = repo.loadDirtree(cs);
    cache?.set(cs, dt);
  }
  return dt;
}

/**
 * Add a commit and everything below it to `reachable` (keys `CHECKSUM.EXT`, EXT as on disk);
 * missing objects are skipped (partial commits).
 */
function traverseCommit(repo: Repo, cs: string, reachable: Set<string>, cache?: DirtreeCache): void {
  const fileExt = repo.mode === "archive" ? "filez" : "file";
  if (reachable.has(key(cs, "commit"))) return;
  reachable.add(key(cs, "commit"));
  reachable.add(key(cs, "commitmeta"));
  let commit: ReturnType<Repo["loadCommit"]>;
  try {
    commit = repo.loadCommit(cs);
  } catch (e) {
    if (e instanceof ArborError && e.code === "OBJECT_NOT_FOUND") return;
    throw e;
  }
  const stack: Array<[string, string]> = [[commit.rootTree, commit.rootMeta]];
  while (stack.length > 0) {
    const [tree, meta] = stack.pop()!;
    reachable.add(key(meta, "dirmeta"));
    if (reachable.has(key(tree, "dirtree"))) continue;
    reachable.add(key(tree, "dirtree"));
    let dt: ReturnType<Repo["loadDirtree"]>;
    try {
      dt = loadDirtreeCached(repo, tree, cache);
    } catch (e) {
      if (e instanceof ArborError && e.code === "OBJECT_NOT_FOUND") continue;
      throw e;
    }
    for (const f of dt.files) reachable.add(key(f.checksum, fileExt));
    for (const d of dt.dirs) stack.push([d.tree, d.meta]);
  }
}

const PRUNABLE = new Set(["commit", "commitmeta", "dirtree", "dirmeta", "file", "filez"]);
const HEX62 = /^[0-9a-f]{62}$/;

/**
 * Delete loose objects not reachable from refs (depth 0) or from `extraCommits`.
 * @throws ArborError LOCKED, IO
 */
export async function pruneSystemRepo(
  repo: Repo,
  extraCommits: readonly string[],
  cache?: DirtreeCache,
): Promise<PruneResult> {
  const lock = await acquireLock(repo.lockPath, "exclusive", { timeoutMs: 30_000 });
  try {
    const reachable = new Set<string>();
    for (const r of listRefs(repo, { kind: "all" })) traverseCommit(repo, r.checksum, reachable, cache);
    for (const cs of extraCommits) traverseCommit(repo, cs, reachable, cache);
    const objects = join(repo.path, "objects");
    const result: PruneResult = { total: 0, pruned: 0, freedBytes: 0 };
    let prefixes: string[];
    try {
      prefixes = readdirSync(objects);
    } catch (e) {
      throw fromSystemError(`Cannot list "${objects}"`, e);
    }
    for (const p of prefixes) {
      if (!/^[0-9a-f]{2}$/.test(p)) continue;
      for (const name of readdirSync(join(objects, p))) {
        // objects are XX/REST.EXT: the set keys are exactly XX + name
        const dot = name.indexOf(".");
        if (dot !== 62) continue;
        const ext = name.slice(63);
        if (!PRUNABLE.has(ext)) {
          if (ext === "tombstone-commit" || ext === "payload-link") result.total++;
          continue;
        }
        result.total++;
        const k = p + name;
        if (reachable.has(k)) continue;
        if (!HEX62.test(name.slice(0, 62))) continue;
        const path = join(objects, p, name);
        try {
          result.freedBytes += lstatSync(path).size;
          if (ext === "commit") {
            try {
              unlinkSync(join(repo.path, "state", `${p + name.slice(0, 62)}.commitpartial`));
            } catch {}
          }
          unlinkSync(path);
          result.pruned++;
        } catch (e) {
          if (errnoCode(e) !== "ENOENT") throw fromSystemError(`Cannot delete "${path}"`, e);
        }
      }
    }
    return result;
  } finally {
    lock.release();
  }
}
