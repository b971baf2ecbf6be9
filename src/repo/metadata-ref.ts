/**
 * The `ostree-metadata` ref (as `ostree summary -u` in a repository with a collection ID): each
 * summary update also commits an empty tree whose commit metadata is the summary's additional
 * metadata plus its bindings (`ostree.ref-binding` = ['ostree-metadata'],
 * `ostree.collection-binding` = the repository's collection ID), in GHashTable order as ostree's
 * GVariantDict writes it, with the previous `ostree-metadata` commit as parent. Every update makes
 * a new commit, even when nothing changed (ostree does the same). The ref lives in `refs/heads/`.
 */
import { encodeCommit, encodeDirmeta, encodeDirtree, encodeVarDict, type VarDict } from "../core/metadata.js";
import { S_IFDIR } from "../core/mode.js";
import { ArborError } from "../errors.js";
import { ghashOrderPairs } from "../gvariant/ghash-order.js";
import { Variant } from "../gvariant/serialize.js";
import { readRef } from "./refs.js";
import type { Repo } from "./repo.js";
import { Transaction } from "./transaction.js";

/** The ref name ostree uses for repository metadata commits. */
export const METADATA_REF = "ostree-metadata";

export interface MetadataCommitOptions {
  /** The summary's additional metadata (`summary -m KEY=VALUE`), in command-line order. */
  metadata: VarDict;
  /** Commit timestamp in seconds (ostree: `$SOURCE_DATE_EPOCH`, else now). */
  timestamp: number;
  /** Sign the new commit (GPG keys of `summary --gpg-sign`); returns the detached metadata. */
  signDetached?: (commit: string, bytes: Uint8Array, detached: VarDict | null) => Promise<VarDict | null>;
}

/**
 * Commit a new `ostree-metadata` commit and move the ref to it.
 * @returns the new commit's checksum.
 * @throws ArborError USAGE when the repository has no collection ID, LOCKED, IO, and what the
 * signer throws.
 */
export async function writeMetadataCommit(repo: Repo, opts: MetadataCommitOptions): Promise<string> {
  const cid = repo.collectionId;
  if (!cid)
    throw new ArborError(
      "USAGE",
      `Cannot write the ${METADATA_REF} commit: the repository has no collection ID`,
    );
  const metadata = ghashOrderPairs<Variant>([
    ...opts.metadata.filter(([k]) => k !== "ostree.ref-binding" && k !== "ostree.collection-binding"),
    ["ostree.ref-binding", new Variant("as", [METADATA_REF])],
    ["ostree.collection-binding", new Variant("s", cid)],
  ]);
  const tx = await Transaction.begin(repo);
  try {
    const rootMeta = tx.writeMetadata(
      "dirmeta",
      encodeDirmeta({ uid: 0, gid: 0, mode: S_IFDIR | 0o755, xattrs: [] }),
    );
    const rootTree = tx.writeMetadata("dirtree", encodeDirtree({ files: [], dirs: [] }));
    const bytes = encodeCommit({
      metadata,
      parent: readRef(repo, METADATA_REF),
      related: [],
      subject: "",
      body: "",
      timestamp: opts.timestamp,
      rootTree,
      rootMeta,
    });
    const cs = tx.writeMetadata("commit", bytes);
    // signed inside the transaction, so the signatures are durable before the ref moves
    const detached = opts.signDetached ? await opts.signDetached(cs, bytes, null) : null;
    if (detached?.length) tx.writeMetadataNamed("commitmeta", cs, encodeVarDict(detached), true);
    tx.setRef(METADATA_REF, cs);
    await tx.commit();
    return cs;
  } catch (e) {
    await tx.abort();
    throw e;
  }
}
