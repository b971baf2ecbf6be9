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
 * Ref and collection bindings, as OSTree checks them on pull: a commit carrying
 * `ostree.ref-binding` may only be pulled under one of those refs (`ref` null = pulled by
 * checksum: not checked); when the remote has a collection ID, both bindings must be present and
 * `ostree.collection-binding` must equal it.
 * @throws ArborError SIGNATURE_INVALID naming the commit, the ref and the bound values.
 */
export function verifyBindings(
  checksum: string,
  commit: Commit,
  ref: string | null,
  collectionId: string | undefined,
): void {
  const fail = (msg: string): never => {
    throw new ArborError("SIGNATURE_INVALID", `Commit ${checksum}: ${msg}`, {
      data: { commit: checksum, ref },
    });
  };
  const rb = lookup(commit.metadata, "ostree.ref-binding");
  if (!rb) {
    if (!collectionId) return;
    fail("Expected commit metadata to have ref binding information, found none");
  }
  const refs = rb?.type === "as" ? (rb.value as string[]) : [];
  if (ref !== null && !refs.includes(ref)) {
    const list = refs.length ? refs.map((r) => `‘${r}’`).join(", ") : "no refs";
    fail(`Commit has no requested ref ‘${ref}’ in ref binding metadata (${list})`);
  }
  if (collectionId) {
    const cb = lookup(commit.metadata, "ostree.collection-binding");
    if (cb?.type !== "s")
      fail("Expected commit metadata to have collection ID binding information, found none");
    const bound = cb!.value as string;
    if (bound !== collectionId) {
      fail(
        `Commit has collection ID ‘${bound}’ in collection binding metadata, while the remote it came from has collection ID ‘${collectionId}’`,
      );
    }
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
