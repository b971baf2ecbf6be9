/**
 * Signing and verification, public surface: signapi engines (ed25519, dummy) and GPG. See
 * engine.ts for the model; commit-sign.ts, gpg-sign.ts and gpg-verify.ts for the formats.
 */
import type { Repo } from "../repo/repo.js";
import { signCommit as signWithEngine } from "./commit-sign.js";
import { getSignEngine } from "./engine.js";
import { gpgSignCommit } from "./gpg-sign.js";

export {
  deleteCommitSignatures,
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
 * Sign a freshly written commit as `ostree commit` does: signapi keys first, then GPG keys.
 * @throws ArborError UNSUPPORTED (unknown type), BAD_NAME (bad key), NOT_FOUND (no such GPG key),
 *   EXISTS (already GPG-signed by that key), SIGNATURE_INVALID (gpg failed)
 */
export async function signCommit(repo: Repo, commit: string, o: CommitSignOptions): Promise<void> {
  if (o.keys.length) {
    const engine = await getSignEngine(o.type ?? "ed25519");
    await signWithEngine(
      repo,
      commit,
      engine,
      o.keys.map((k) => engine.parseSecretKey(k)),
    );
  }
  for (const k of o.gpgKeys) await gpgSignCommit(repo, commit, k, o.gpgHomedir);
}
