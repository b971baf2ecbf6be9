/**
 * Signing and verification, public surface: signapi engines (ed25519, dummy) and GPG. See
 * engine.ts for the model; commit-sign.ts, gpg-sign.ts and gpg-verify.ts for the formats.
 */
import type { VarDict } from "../core/metadata.js";
import { engineSignedMetadata } from "./commit-sign.js";
import { getSignEngine } from "./engine.js";
import { gpgSignedMetadata } from "./gpg-sign.js";

export {
  deleteCommitSignatures,
  engineSignedMetadata,
  signaturesIn,
  verifyCommitSignature,
  writeDetachedMetadata,
} from "./commit-sign.js";
export { describeCommitGpgSignatures, describeSummarySignatures } from "./describe.js";
export { ed25519Engine, generateEd25519KeyPair } from "./ed25519.js";
export { getSignEngine, type PublicKeySet, type SignEngine } from "./engine.js";
export {
  GPG_SIGS_KEY,
  gpgDeleteSignatures,
  gpgSignCommit,
  gpgSignData,
  gpgSignedMetadata,
  gpgSummarySigner,
} from "./gpg-sign.js";
export {
  describeGpgSignature,
  type GpgSignatureInfo,
  type GpgVerifyResult,
  requireValidGpgSignature,
} from "./gpg-verify.js";
export { loadVerificationKeys, readKeysFile } from "./keys.js";
export {
  type VerifyPolicy,
  verifyCommitForRemote,
  verifyPolicyFor,
  verifySummaryForRemote,
} from "./remote-verify.js";

/** What `commit --sign/--sign-type/--gpg-sign/--gpg-homedir` asks for. */
export interface CommitSignOptions {
  /** signapi engine for `keys` (default ed25519). */
  type?: string;
  /** Secret keys as given on the command line (base64 for ed25519). */
  keys: string[];
  /** GPG key IDs, signed through gpg. */
  gpgKeys: string[];
  gpgHomedir?: string;
}

/**
 * The detached metadata of a commit being written, with the signatures `commit --sign/--gpg-sign`
 * ask for added (signapi keys first, then GPG keys, as `ostree commit`). Pure: the caller stores
 * the result in the same transaction as the commit, before its ref moves, so a signed branch never
 * points at an unsigned commit.
 * @param commit the commit's checksum (for messages); `data` its exact bytes; `meta` the detached
 *   metadata it already has (e.g. `--add-detached-metadata-string`), or null.
 * @returns the new detached metadata (`meta` unchanged when nothing was asked).
 * @throws ArborError UNSUPPORTED (unknown type), BAD_NAME (bad key), NOT_FOUND (no such GPG key),
 *   EXISTS (already GPG-signed by that key), SIGNATURE_INVALID (gpg failed)
 */
export async function commitSignatureMetadata(
  commit: string,
  data: Uint8Array,
  meta: VarDict | null,
  o: CommitSignOptions,
): Promise<VarDict | null> {
  let out = meta;
  if (o.keys.length) {
    const engine = await getSignEngine(o.type ?? "ed25519");
    const r = engineSignedMetadata(
      data,
      out,
      engine,
      o.keys.map((k) => engine.parseSecretKey(k)),
    );
    if (r.meta) out = r.meta;
  }
  for (const k of o.gpgKeys) out = await gpgSignedMetadata(commit, data, out, k, o.gpgHomedir);
  return out;
}
