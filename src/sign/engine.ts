/**
 * Signature engines (OSTree's "signapi", fact sheet §4.3): each signs bytes with a secret key
 * and verifies a list of signatures against trusted public keys. Signatures are stored as an
 * `aay` under the engine's metadata key in a commit's detached metadata or in `summary.sig`.
 * Verification passes if any signature verifies with any trusted key that is not revoked.
 *
 * Engines: `ed25519` (Node crypto; keys as in libsodium: secret = base64(seed ‖ public), public =
 * base64(32 bytes)) and `dummy` (OSTree's test engine, enabled by OSTREE_DUMMY_SIGN_ENABLED=1).
 * GPG is separate (gpg-sign.ts, gpg-verify.ts): it is not a signapi engine in OSTree either.
 */
import { ArborError } from "../errors.js";

/** Public keys an engine verifies with. */
export interface PublicKeySet {
  trusted: Uint8Array[];
  revoked: Uint8Array[];
}

/** A signapi engine. */
export interface SignEngine {
  /** `ed25519`, `dummy`. */
  readonly name: string;
  /** Key in detached metadata / summary.sig: `ostree.sign.<name>`. */
  readonly metadataKey: string;
  /**
   * Parse a secret key as given on the command line (base64 text) or read from a keys file (raw
   * bytes of one line). @throws ArborError BAD_NAME naming what is wrong with the key.
   */
  parseSecretKey(key: string | Uint8Array): Uint8Array;
  /** Parse a public key (base64 text or raw line bytes). @throws ArborError BAD_NAME */
  parsePublicKey(key: string | Uint8Array): Uint8Array;
  /** Sign `data` with a parsed secret key. */
  sign(data: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /**
   * Verify: returns the success message (`ed25519: Signature verified successfully with key '…'`).
   * @throws ArborError SIGNATURE_MISSING (no signatures), SIGNATURE_INVALID (none verified).
   */
  verify(data: Uint8Array, signatures: Uint8Array[], keys: PublicKeySet): string;
  /** The public key matching a parsed secret key. */
  publicKeyOf(secretKey: Uint8Array): Uint8Array;
}

/** The names OSTree's `ostree_sign_get_all()` knows, in its order. */
export const SIGN_ENGINE_NAMES = ["ed25519", "dummy"] as const;

/**
 * Get an engine by name, as `--sign-type` / `-s` take it. The `dummy` engine refuses every
 * operation ("dummy signature type is only for ostree testing") unless OSTREE_DUMMY_SIGN_ENABLED=1.
 * @throws ArborError UNSUPPORTED "Requested signature type is not implemented" for unknown names.
 */
export async function getSignEngine(
  name: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<SignEngine> {
  if (name === "ed25519") return (await import("./ed25519.js")).ed25519Engine;
  if (name === "dummy") {
    // Like OSTree, the engine exists either way; without the env variable every use fails.
    const { dummyEngine, disabledDummyEngine } = await import("./dummy.js");
    return env.OSTREE_DUMMY_SIGN_ENABLED === "1" ? dummyEngine : disabledDummyEngine;
  }
  throw new ArborError("UNSUPPORTED", "Requested signature type is not implemented");
}

/** Decode base64 as GLib's g_base64_decode does (lenient: stops at invalid characters). */
export function decodeBase64Lenient(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.trim(), "base64"));
}

/** Lower-case hex of bytes. */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}
