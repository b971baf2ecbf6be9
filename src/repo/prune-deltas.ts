/**
 * Pruning static deltas (fact sheet §6.1): prune removes the deltas whose target commit is gone
 * (or, with `--delete-commit --static-deltas-only`, those targeting one commit), as
 * `ostree_repo_prune_static_deltas`. Delta directories are found and named by delta-store.ts.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fromSystemError } from "../errors.js";
import { deltaDir, deltaName } from "./delta-naming.js";
import { listDeltas } from "./delta-store.js";
import type { Repo } from "./repo.js";

/**
 * Delete the static deltas targeting `commit`, or, when `commit` is null, those whose target
 * commit is not in the repository.
 * @returns the deltas removed, named as ostree names them (`TO` or `FROM-TO`, hex).
 * @throws ArborError IO.
 */
export function pruneStaticDeltas(repo: Repo, commit: string | null): string[] {
  const removed: string[] = [];
  for (const d of listDeltas(repo, { sorted: true })) {
    if (commit !== null ? d.to !== commit : repo.hasObject("commit", d.to)) continue;
    const dir = join(repo.path, deltaDir(d));
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      throw fromSystemError(`Cannot delete static delta "${dir}"`, e);
    }
    removed.push(deltaName(d));
  }
  return removed;
}
