/**
 * Signed superblocks (fact sheet §6.2): the file becomes `(taya{sv})` = (magic, the superblock
 * bytes, signatures keyed like commit detached metadata, e.g. `ostree.sign.ed25519` → `aay`).
 * Signatures are over the exact inner superblock bytes.
 */
import { lookup } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { Variant } from "../gvariant/index.js";
import { getSignEngine } from "../sign/engine.js";
import { unwrapSignedSuperblock, wrapSignedSuperblock } from "./superblock.js";

/** A key as typed (string, parsed by the engine) or already parsed (from a keys file). */
export type KeyInput = string | Uint8Array;

/**
 * Sign superblock bytes with `engine` and each secret key (as typed: base64 for ed25519).
 * @throws ArborError UNSUPPORTED (unknown engine), BAD_NAME (bad key)
 */
export async function signSuperblock(
  superblock: Uint8Array,
  signType: string,
  secretKeys: KeyInput[],
  env?: Readonly<Record<string, string | undefined>>,
): Promise<Uint8Array> {
  const engine = await getSignEngine(signType, env);
  const parse = (k: KeyInput): Uint8Array => (typeof k === "string" ? engine.parseSecretKey(k) : k);
  const sigs = secretKeys.map((k) => engine.sign(superblock, parse(k)));
  return wrapSignedSuperblock(superblock, [[engine.metadataKey, new Variant("aay", sigs)]]);
}

/**
 * Verify a superblock file's signatures with public keys (as typed).
 * @returns the engine's success message.
 * @throws ArborError SIGNATURE_MISSING `no signatures in static-delta`, SIGNATURE_INVALID, UNSUPPORTED
 */
export async function verifySuperblockSignature(
  file: Uint8Array,
  signType: string,
  publicKeys: KeyInput[],
  env?: Readonly<Record<string, string | undefined>>,
): Promise<string> {
  const engine = await getSignEngine(signType, env);
  const keys = publicKeys.map((k) => (typeof k === "string" ? engine.parsePublicKey(k) : k));
  const signed = unwrapSignedSuperblock(file);
  if (!signed) throw new ArborError("SIGNATURE_MISSING", "no signatures in static-delta");
  const v = lookup(signed.signatures, engine.metadataKey);
  const sigs = v && v.type === "aay" ? (v.value as Uint8Array[]) : [];
  return engine.verify(signed.superblock, sigs, { trusted: keys, revoked: [] });
}
