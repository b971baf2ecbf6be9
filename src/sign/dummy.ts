/**
 * OSTree's `dummy` signature engine, used by its test suite (OSTREE_DUMMY_SIGN_ENABLED=1): the
 * "signature" is the secret key string itself, and it verifies when it equals the public key
 * string. Never use it for anything but tests.
 */
import { ArborError } from "../errors.js";
import type { PublicKeySet, SignEngine } from "./engine.js";

const enc = new TextEncoder();
const dec = new TextDecoder();

function asBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === "string" ? enc.encode(key) : key;
}

/** The dummy engine. */
export const dummyEngine: SignEngine = {
  name: "dummy",
  metadataKey: "ostree.sign.dummy",
  parseSecretKey: asBytes,
  parsePublicKey: asBytes,
  sign(_data, secretKey) {
    return secretKey;
  },
  publicKeyOf(secretKey) {
    return secretKey;
  },
  verify(_data, signatures, keys: PublicKeySet) {
    const pk = keys.trusted[keys.trusted.length - 1];
    for (const s of signatures) {
      if (pk && dec.decode(s) === dec.decode(pk)) return "dummy: Signature verified";
    }
    if (signatures.length)
      throw new ArborError(
        "SIGNATURE_INVALID",
        `signature: dummy: incorrect signatures found: ${signatures.length}`,
      );
    throw new ArborError("SIGNATURE_MISSING", "signature: dummy: no signatures");
  },
};

function disabled(): never {
  throw new ArborError("UNSUPPORTED", "dummy signature type is only for ostree testing");
}

/** The dummy engine when OSTREE_DUMMY_SIGN_ENABLED is not 1: every operation fails. */
export const disabledDummyEngine: SignEngine = {
  name: "dummy",
  metadataKey: "ostree.sign.dummy",
  parseSecretKey: disabled,
  parsePublicKey: disabled,
  sign: disabled,
  publicKeyOf: disabled,
  verify: disabled,
};
