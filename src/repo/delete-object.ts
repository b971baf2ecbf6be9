/**
 * Removing objects and recording incompleteness: the only ways bytes leave `objects/` (used by
 * prune, fsck --delete, and `ostree_repo_delete_object`-style callers).
 *
 *  - Deleting a commit also deletes its detached metadata (`.commitmeta`), and when
 *    `core.tombstone-commits` is true leaves a tombstone (`.tombstone-commit`, fact sheet §2.6)
 *    so that a later pull knows the commit was removed on purpose.
 *  - `state/CS.commitpartial` marks a commit whose tree is incomplete. fsck writes the single byte
 *    `f` into it ("partial because fsck found corruption"), as ostree does; a pull writes it empty.
 *
 * Callers hold the repo lock (exclusive for deletions that others could race with).
 */
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { encodeTombstone } from "../core/metadata.js";
import type { ObjectType } from "../core/object-type.js";
import { validateChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import type { Repo } from "./repo.js";

function unlinkMaybe(path: string, what: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return false;
    throw fromSystemError(`Cannot delete ${what}`, e);
  }
}

/** Options of {@link deleteObject}. */
export interface DeleteObjectOptions {
  /** Do not fail if the object is already gone. */
  allowMissing?: boolean;
  /** Write a tombstone for a deleted commit; default: `core.tombstone-commits` of the repo. */
  tombstone?: boolean;
}

/**
 * Delete a loose object. For a commit, its `.commitmeta` goes first (a commit without its
 * signatures is still a valid commit; the reverse order could leave orphaned detached metadata).
 * @returns false if the object was already missing (with `allowMissing`).
 * @throws ArborError OBJECT_NOT_FOUND (unless allowMissing), IO.
 */
export function deleteObject(
  repo: Repo,
  type: ObjectType,
  checksum: string,
  opts: DeleteObjectOptions = {},
): boolean {
  validateChecksum(checksum);
  const name = `${checksum}.${type}`;
  if (type === "commit") unlinkMaybe(repo.objectPath(checksum, "commitmeta"), `${checksum}.commitmeta`);
  if (!unlinkMaybe(repo.objectPath(checksum, type), name)) {
    if (!opts.allowMissing)
      throw new ArborError("OBJECT_NOT_FOUND", `Cannot delete object ${name}: no such object`, {
        data: { checksum, type },
      });
    return false;
  }
  if (type === "commit" && (opts.tombstone ?? repo.config.getBool("core", "tombstone-commits", false)))
    writeTombstone(repo, checksum);
  return true;
}

/**
 * Write the tombstone of a deleted commit (`{"commit": <ay "HEX\0">}`), atomically.
 * @throws ArborError IO, NO_SPACE.
 */
export function writeTombstone(repo: Repo, commit: string): void {
  validateChecksum(commit);
  const p = repo.objectPath(commit, "tombstone-commit");
  try {
    mkdirSync(dirname(p), { recursive: true, mode: 0o775 });
    writeFileAtomicSync(p, encodeTombstone(commit), { mode: 0o644 });
  } catch (e) {
    throw fromSystemError(`Cannot write tombstone for commit ${commit}`, e);
  }
}

/**
 * Turn on `core.tombstone-commits` in the repo config (ostree does this for `prune
 * --delete-commit` and `fsck --add-tombstones`). No write if it is already on.
 */
export function enableTombstoneCommits(repo: Repo): void {
  if (repo.config.getBool("core", "tombstone-commits", false)) return;
  repo.config.setBool("core", "tombstone-commits", true);
  repo.saveConfig();
}

/**
 * Mark a commit partial. `reason: "fsck"` writes `f` into the marker (ostree's
 * OSTREE_REPO_COMMIT_STATE_FSCK_PARTIAL). An existing marker is left as it is.
 * @returns true if a new marker was written.
 * @throws ArborError IO.
 */
export function markCommitPartial(repo: Repo, commit: string, reason: "fsck" | "other" = "other"): boolean {
  validateChecksum(commit);
  const p = repo.commitPartialPath(commit);
  let fd: number;
  try {
    mkdirSync(dirname(p), { recursive: true });
    fd = openSync(p, "wx", 0o644);
  } catch (e) {
    if (errnoCode(e) === "EEXIST") return false;
    throw fromSystemError(`Cannot mark commit ${commit} partial`, e);
  }
  try {
    if (reason === "fsck") writeSync(fd, "f");
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Remove a commit's partial marker, if any. @throws ArborError IO. */
export function unmarkCommitPartial(repo: Repo, commit: string): void {
  validateChecksum(commit);
  unlinkMaybe(repo.commitPartialPath(commit), `partial marker of commit ${commit}`);
}
