/**
 * Ref bindings (fact sheet §2.2): a commit made with `-b REF` lists the refs it was made for in
 * `ostree.ref-binding` (as) and, in a repo with a collection ID, that ID in
 * `ostree.collection-binding` (s). `fsck --verify-bindings` checks each ref's commit is bound to
 * it; `--verify-back-refs` checks each commit's bound refs point back to it. Messages are
 * ostree's (ostree-repo.c `_ostree_repo_verify_bindings`, ot-builtin-fsck.c).
 */
import { join } from "node:path";
import { type Commit, lookup } from "../core/metadata.js";
import { isRef } from "../core/validate.js";
import { readRef, readRefFile, resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";

function refBinding(c: Commit): string[] | null {
  const v = lookup(c.metadata, "ostree.ref-binding");
  return v && v.type === "as" ? (v.value as string[]) : null;
}

function collectionBinding(c: Commit): string | null {
  const v = lookup(c.metadata, "ostree.collection-binding");
  return v && v.type === "s" ? (v.value as string) : null;
}

/**
 * Check a commit found through ref `refName` (of collection `collectionId`, or null).
 * @returns null if fine, else ostree's reason (the caller prefixes `Commit CS: `).
 */
export function verifyBindings(
  collectionId: string | null,
  refName: string | null,
  c: Commit,
): string | null {
  const refs = refBinding(c);
  if (refs === null) {
    if (collectionId === null) return null;
    return "Expected commit metadata to have ref binding information, found none";
  }
  if (refName !== null && !refs.includes(refName)) {
    const list = refs.length ? refs.map((r) => `‘${r}’`).join(", ") : "no refs";
    return `Commit has no requested ref ‘${refName}’ in ref binding metadata (${list})`;
  }
  if (collectionId !== null) {
    const bound = collectionBinding(c);
    if (bound === null)
      return "Expected commit metadata to have collection ID binding information, found none";
    if (bound !== collectionId) {
      return `Commit has collection ID ‘${bound}’ in collection binding metadata, while the remote it came from has collection ID ‘${collectionId}’`;
    }
  }
  return null;
}

function resolveCollectionRef(repo: Repo, collectionId: string, ref: string): string | null {
  if (!isRef(ref)) return null;
  if (collectionId === repo.collectionId) return readRef(repo, ref);
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/.test(collectionId)) return null;
  return readRefFile(join(repo.path, "refs/mirrors", collectionId, ref), `(${collectionId}, ${ref})`);
}

/**
 * Check that every ref a commit is bound to resolves to that commit.
 * @returns null if fine, else ostree's message.
 */
export function verifyBackRefs(repo: Repo, checksum: string, c: Commit): string | null {
  const refs = refBinding(c);
  if (!refs) return null;
  const cid = collectionBinding(c);
  for (const ref of refs) {
    let target: string | null;
    if (cid !== null) target = resolveCollectionRef(repo, cid, ref);
    else {
      try {
        target = isRef(ref) ? resolveRev(repo, ref, { allowNoent: true }) : null;
      } catch {
        target = null;
      }
    }
    const what = cid !== null ? `Collection–ref (${cid}, ${ref})` : `Ref ‘${ref}’`;
    if (target === null) return `${what} in bindings for commit ${checksum} does not exist`;
    if (target !== checksum)
      return `${what} in bindings for commit ${checksum} does not resolve to that commit`;
  }
  return null;
}
