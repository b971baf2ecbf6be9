/**
 * Checks on a fetched commit that happen before its tree is walked (fact sheet §5.4):
 *  - ref binding: a commit carrying `ostree.ref-binding` may only be pulled under one of those refs
 *    (prevents a server from serving an old or foreign commit under another ref);
 *  - collection binding: `ostree.collection-binding` must match the remote's collection ID;
 *  - downgrade protection (`--timestamp-check`): the new commit may not be older than the
 *    commit the ref points to now.
 */
import { type Commit, lookup } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { formatCDate } from "../sign/gpg-verify.js";

/**
 * @throws ArborError SIGNATURE_INVALID naming the commit, the ref and the bound refs.
 */
export function checkRefBinding(checksum: string, commit: Commit, ref: string): void {
  const v = lookup(commit.metadata, "ostree.ref-binding");
  if (!v) return;
  const refs = v.type === "as" ? (v.value as string[]) : [];
  if (!refs.includes(ref)) {
    throw new ArborError(
      "SIGNATURE_INVALID",
      `Commit ${checksum} has no requested ref ‘${ref}’ in ref binding metadata (${refs.map((r) => `‘${r}’`).join(", ")})`,
      { data: { commit: checksum, ref, bound: refs } },
    );
  }
}

/** @throws ArborError SIGNATURE_INVALID when the commit is bound to another collection. */
export function checkCollectionBinding(
  checksum: string,
  commit: Commit,
  collectionId: string | undefined,
): void {
  if (!collectionId) return;
  const v = lookup(commit.metadata, "ostree.collection-binding");
  if (!v) return;
  const bound = v.type === "s" ? (v.value as string) : "";
  if (bound !== collectionId) {
    throw new ArborError(
      "SIGNATURE_INVALID",
      `Commit ${checksum} has collection ID ‘${bound}’ in collection binding metadata, while the remote it came from has collection ID ‘${collectionId}’`,
      { data: { commit: checksum, collectionId, bound } },
    );
  }
}

/**
 * OSTree's downgrade rule: newer is fine; equal timestamps are fine; older is refused.
 * @throws ArborError CONFLICT naming both revisions and both timestamps.
 */
export function checkTimestamps(currentRev: string, currentTs: number, newRev: string, newTs: number): void {
  if (newTs > currentTs) return;
  if (newTs === currentTs || currentRev === newRev) return;
  throw new ArborError(
    "CONFLICT",
    `Upgrade target revision '${newRev}' with timestamp '${formatCDate(newTs, true)}' is chronologically older than current revision '${currentRev}' with timestamp '${formatCDate(currentTs, true)}'; use --allow-downgrade to permit`,
    { data: { currentRev, currentTs, newRev, newTs } },
  );
}
