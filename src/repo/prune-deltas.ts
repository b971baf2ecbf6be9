/**
 * Static deltas on disk (fact sheet §6.1): `deltas/T2/Trest/` for a delta from nothing to T and
 * `deltas/F2/Frest-T/` for one from F to T, where each checksum is written in "modified base64"
 * (standard alphabet, `/` → `_`, the trailing `=` dropped, 43 characters). Prune removes the
 * deltas whose target commit is gone (or, with `--delete-commit --static-deltas-only`, those
 * targeting one commit), as `ostree_repo_prune_static_deltas`.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { errnoCode, fromSystemError } from "../errors.js";
import type { Repo } from "./repo.js";

/** Hex checksum of a modified-base64 one, or null if it is not one. */
function mb64ToHex(s: string): string | null {
  if (!/^[A-Za-z0-9+_]{43}$/.test(s)) return null;
  const b = Buffer.from(`${s.replace(/_/g, "/")}=`, "base64");
  return b.length === 32 ? b.toString("hex") : null;
}

/** A stored static delta: its directory and the commits it goes between (`from` null = from scratch). */
export interface StoredDelta {
  dir: string;
  from: string | null;
  to: string;
}

/** Every static delta directory under `deltas/` with a well-formed name. @throws ArborError IO. */
export function listStoredDeltas(repo: Repo): StoredDelta[] {
  const root = join(repo.path, "deltas");
  const out: StoredDelta[] = [];
  const ls = (p: string): string[] => {
    try {
      return readdirSync(p);
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return [];
      throw fromSystemError(`Cannot list static deltas in "${p}"`, e);
    }
  };
  for (const pre of ls(root)) {
    if (pre.length !== 2) continue;
    for (const rest of ls(join(root, pre))) {
      const name = pre + rest;
      const dash = name.indexOf("-");
      const from = dash < 0 ? null : mb64ToHex(name.slice(0, dash));
      const to = mb64ToHex(dash < 0 ? name : name.slice(dash + 1));
      if (to === null || (dash >= 0 && from === null)) continue;
      out.push({ dir: join(root, pre, rest), from, to });
    }
  }
  return out;
}

/**
 * Delete the static deltas targeting `commit`, or, when `commit` is null, those whose target
 * commit is not in the repository.
 * @returns the deltas removed, named as ostree names them (`TO` or `FROM-TO`, hex).
 * @throws ArborError IO.
 */
export function pruneStaticDeltas(repo: Repo, commit: string | null): string[] {
  const removed: string[] = [];
  for (const d of listStoredDeltas(repo)) {
    if (commit !== null ? d.to !== commit : repo.hasObject("commit", d.to)) continue;
    try {
      rmSync(d.dir, { recursive: true, force: true });
    } catch (e) {
      throw fromSystemError(`Cannot delete static delta "${d.dir}"`, e);
    }
    removed.push(d.from ? `${d.from}-${d.to}` : d.to);
  }
  return removed;
}
