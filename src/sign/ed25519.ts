/**
 * Ed25519 signatures as OSTree makes them (fact sheet §4.3): the signature is Ed25519 (RFC 8032,
 * pure, no prehash) over the exact bytes signed (the `.commit` object, the `summary` file).
 * Secret key = 64 bytes: 32-byte seed ‖ 32-byte public key (libsodium layout); public key = the
 * raw 32 bytes; both handled as base64 text. Node's crypto (OpenSSL) does the maths, so the same
 * bytes verify with `openssl pkeyutl -verify -rawin`.
 */
import { createPrivateKey, createPublicKey, type KeyObject, randomBytes, sign, verify } from "node:crypto";
import { ArborError } from "../errors.js";
import { decodeBase64Lenient, type PublicKeySet, type SignEngine, toHex } from "./engine.js";

export const ED25519_SECRET_KEY_SIZE = 64;
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}

function asBytes(key: string | Uint8Array): Uint8Array {
  return typeof key === "string" ? decodeBase64Lenient(key) : key;
}

// PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows.
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * A Node private key object from a 64-byte libsodium secret key. Only the seed is used (as
 * OSTree's OpenSSL backend does), so the signature always matches the seed's public key.
 */
export function privateKeyObject(secret: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secret.subarray(0, 32)]),
    format: "der",
    type: "pkcs8",
  });
}

/** A Node public key object from 32 raw bytes. */
export function publicKeyObject(pub: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: b64url(pub) }, format: "jwk" });
}

/** The 32-byte public key derived from a 32-byte seed. */
export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const jwk = privateKeyObject(seed).export({ format: "jwk" });
  return new Uint8Array(Buffer.from(jwk.x as string, "base64url"));
}

/** Make a new key pair in OSTree's formats: `{secret: base64(64 B), public: base64(32 B)}`. */
export function generateEd25519KeyPair(): { secret: string; public: string } {
  const seed = randomBytes(32);
  const pub = publicKeyFromSeed(seed);
  return {
    secret: Buffer.concat([seed, pub]).toString("base64"),
    public: Buffer.from(pub).toString("base64"),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

/** The ed25519 engine. */
export const ed25519Engine: SignEngine = {
  name: "ed25519",
  metadataKey: "ostree.sign.ed25519",

  parseSecretKey(key) {
    const b = asBytes(key);
    if (b.length !== ED25519_SECRET_KEY_SIZE) {
      throw new ArborError(
        "BAD_NAME",
        `Invalid ed25519 secret key: Ill-formed input: expected ${ED25519_SECRET_KEY_SIZE} bytes, got ${b.length}`,
      );
    }
    return b;
  },

  parsePublicKey(key) {
    const b = asBytes(key);
    if (b.length !== ED25519_PUBLIC_KEY_SIZE) {
      throw new ArborError(
        "BAD_NAME",
        `Invalid ed25519 public key: Ill-formed input: expected ${ED25519_PUBLIC_KEY_SIZE} bytes, got ${b.length}`,
      );
    }
    return b;
  },

  sign(data, secretKey) {
    return new Uint8Array(sign(null, data, privateKeyObject(secretKey)));
  },

  publicKeyOf(secretKey) {
    return publicKeyFromSeed(secretKey.subarray(0, 32));
  },

  verify(data, signatures, keys: PublicKeySet) {
    const invalid: string[] = [];
    for (const sig of signatures) {
      if (sig.length !== ED25519_SIGNATURE_SIZE) {
        throw new ArborError(
          "SIGNATURE_INVALID",
          `Invalid signature: Ill-formed input: expected ${ED25519_SIGNATURE_SIZE} bytes, got ${sig.length}`,
        );
      }
      for (const pk of keys.trusted) {
        if (keys.revoked.some((r) => sameBytes(r, pk))) continue;
        let ok = false;
        try {
          ok = verify(null, data, publicKeyObject(pk), sig);
        } catch {
          ok = false; // a point not on the curve: not a usable key
        }
        if (ok) return `ed25519: Signature verified successfully with key '${toHex(pk)}'`;
        invalid.push(`key '${toHex(pk)}'`);
      }
    }
    if (invalid.length > 3) {
      throw new ArborError(
        "SIGNATURE_INVALID",
        `ed25519: Signature couldn't be verified; tried ${invalid.length} keys`,
      );
    }
    if (invalid.length) {
      throw new ArborError(
        "SIGNATURE_INVALID",
        `ed25519: Signature couldn't be verified with: ${invalid.join("; ")}`,
      );
    }
    throw new ArborError(
      signatures.length ? "SIGNATURE_INVALID" : "SIGNATURE_MISSING",
      signatures.length ? "ed25519: no usable (trusted, non-revoked) keys" : "ed25519: no signatures found",
    );
  },
};
