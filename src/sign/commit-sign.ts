/**
 * Signatures in a commit's detached metadata (`objects/XX/REST.commitmeta`, fact sheet §2.6):
 * each engine's signatures are an `aay` under its key (`ostree.sign.ed25519`, `ostree.gpgsigs`),
 * over the exact bytes of the `.commit` object. Adding a signature keeps every other key; the
 * dictionary is rewritten in GVariantDict (hash) order, as OSTree does. The rewrite goes through a
 * Transaction, so a crash leaves either the old or the new detached metadata.
 */
import { encodeVarDict, lookup, type VarDict } from "../core/metadata.js";
import { ArborError, withContext } from "../errors.js";
import { ghashOrderPairs } from "../gvariant/ghash-order.js";
import { Variant } from "../gvariant/index.js";
import type { Repo } from "../repo/repo.js";
import { appendSignatures } from "../repo/summary.js";
import { Transaction } from "../repo/transaction.js";
import type { PublicKeySet, SignEngine } from "./engine.js";

/** The signatures stored under `key` in a detached-metadata dict (empty if none). */
export function signaturesIn(meta: VarDict | null, key: string): Uint8Array[] {
  const v = meta ? lookup(meta, key) : undefined;
  return v && v.type === "aay" ? (v.value as Uint8Array[]) : [];
}

/** Replace a commit's detached metadata (null or empty removes the signatures dict entirely). */
export async function writeDetachedMetadata(repo: Repo, commit: string, meta: VarDict): Promise<void> {
  const tx = await Transaction.begin(repo);
  try {
    tx.writeMetadataNamed("commitmeta", commit, encodeVarDict(meta), true);
    await tx.commit();
  } catch (e) {
    await tx.abort();
    throw e;
  }
}

function loadSigned(repo: Repo, commit: string): { data: Uint8Array; meta: VarDict | null } {
  let data: Uint8Array;
  try {
    data = repo.readMetadata("commit", commit);
  } catch (e) {
    throw withContext("Failed to read commit", e);
  }
  let meta: VarDict | null;
  try {
    meta = repo.loadCommitMeta(commit);
  } catch (e) {
    throw withContext("Failed to read detached metadata", e);
  }
  return { data, meta };
}

/**
 * `meta` with signatures of the commit bytes `data` by each secret key added; a signature already
 * present (ed25519 signatures are deterministic) is not duplicated. Nothing is written.
 * @returns the new dictionary (null when nothing was added) and the number of signatures added.
 */
export function engineSignedMetadata(
  data: Uint8Array,
  meta: VarDict | null,
  engine: SignEngine,
  secretKeys: Uint8Array[],
): { meta: VarDict | null; added: number } {
  const existing = signaturesIn(meta, engine.metadataKey);
  const fresh: Uint8Array[] = [];
  for (const sk of secretKeys) {
    const sig = engine.sign(data, sk);
    if (![...existing, ...fresh].some((s) => Buffer.compare(s, sig) === 0)) fresh.push(sig);
  }
  if (fresh.length === 0) return { meta: null, added: 0 };
  return { meta: appendSignatures(meta, engine.metadataKey, fresh), added: fresh.length };
}

/**
 * Sign a stored commit with each secret key (as `ostree sign COMMIT KEY…`), appending to its
 * detached metadata. A signature already present is not duplicated.
 * @returns the number of signatures added.
 * @throws ArborError OBJECT_NOT_FOUND (no such commit), BAD_NAME (bad key), IO
 */
export async function signCommit(
  repo: Repo,
  commit: string,
  engine: SignEngine,
  secretKeys: Uint8Array[],
): Promise<number> {
  const { data, meta } = loadSigned(repo, commit);
  const r = engineSignedMetadata(data, meta, engine, secretKeys);
  if (r.meta) await writeDetachedMetadata(repo, commit, r.meta);
  return r.added;
}

/**
 * Verify a commit's signatures of one engine (as `ostree sign --verify`).
 * @returns the engine's success message.
 * @throws ArborError SIGNATURE_MISSING, SIGNATURE_INVALID, OBJECT_NOT_FOUND
 */
export function verifyCommitSignature(
  repo: Repo,
  commit: string,
  engine: SignEngine,
  keys: PublicKeySet,
): string {
  const { data, meta } = loadSigned(repo, commit);
  const entry = meta ? lookup(meta, engine.metadataKey) : undefined;
  if (entry?.type !== "aay") {
    throw new ArborError("SIGNATURE_MISSING", `${engine.name}: commit have no signatures of my type`, {
      data: { commit },
    });
  }
  return engine.verify(data, entry.value as Uint8Array[], keys);
}

/**
 * Remove the signatures that verify with any of `publicKeys` (as `ostree sign --delete`).
 * @returns the number removed.
 */
export async function deleteCommitSignatures(
  repo: Repo,
  commit: string,
  engine: SignEngine,
  publicKeys: Uint8Array[],
): Promise<number> {
  const { data, meta } = loadSigned(repo, commit);
  if (!meta) return 0;
  const sigs = signaturesIn(meta, engine.metadataKey);
  const keep = sigs.filter((s) => {
    for (const pk of publicKeys) {
      try {
        engine.verify(data, [s], { trusted: [pk], revoked: [] });
        return false;
      } catch {}
    }
    return true;
  });
  if (keep.length === sigs.length) return 0;
  const rest = meta.filter(([k]) => k !== engine.metadataKey);
  const next = keep.length
    ? [...rest, [engine.metadataKey, new Variant("aay", keep)] as [string, Variant]]
    : rest;
  await writeDetachedMetadata(repo, commit, ghashOrderPairs(next));
  return sigs.length - keep.length;
}
