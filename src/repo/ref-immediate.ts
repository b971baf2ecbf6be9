/**
 * A ref written outside a transaction, as ostree's `ostree_repo_set_ref_immediate`: the ref file
 * is written durably (refs.ts `writeRefFile`), then the summary is regenerated when
 * `core.auto-update-summary` asks for it. ostree does both in `_ostree_repo_write_ref`, for every
 * caller outside a transaction, so every single-ref writer here goes through this function
 * (`reset`, `admin switch` deleting the old ref, `admin upgrade --override-commit`). Callers that
 * write several refs at once (`refs --delete`, pull's refs) call writeRefFile for each and
 * `maybeAutoUpdateSummary` once.
 */
import { writeRefFile } from "./refs.js";
import type { Repo } from "./repo.js";
import { maybeAutoUpdateSummary } from "./summary.js";

/**
 * Point `ref` (of `remote`, when given) at `checksum`, or delete it (null); then regenerate the
 * summary if the repository asks for it.
 * @throws ArborError BAD_REF, EXISTS, IO (writing the ref); OBJECT_NOT_FOUND, IO (the summary)
 */
export async function setRefImmediate(
  repo: Repo,
  ref: string,
  checksum: string | null,
  remote: string | null = null,
): Promise<void> {
  writeRefFile(repo, ref, checksum, remote);
  await maybeAutoUpdateSummary(repo);
}
