/**
 * SHA-256 checksums as OSTree computes them: metadata objects hash their serialized bytes,
 * content objects hash the canonical content stream (content-header.ts).
 */

import { ArborError } from "../errors.js";
import { crypto } from "../io/node-builtins.js";

/** Lower-case hex SHA-256 of `data`. */
export function sha256Hex(data: Uint8Array): string {
  return crypto().createHash("sha256").update(data).digest("hex");
}

/** Raw 32-byte checksum → 64-char hex. @throws ArborError OBJECT_CORRUPT if not 32 bytes. */
export function checksumFromBytes(b: Uint8Array): string {
  if (b.length !== 32)
    throw new ArborError("OBJECT_CORRUPT", `Invalid checksum: ${b.length} bytes, expected 32`);
  return Buffer.from(b.buffer, b.byteOffset, 32).toString("hex");
}

/** 64-char hex → raw 32 bytes. */
export function checksumToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/** Compare two byte strings as C strcmp/memcmp does. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

/** Compare two names by their UTF-8 bytes (strcmp order, as dirtree entries are sorted). */
export function compareNames(a: string, b: string): number {
  // Fast path: for ASCII, UTF-16 code unit order equals byte order.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    if (ca < 0x80 && cb < 0x80) return ca - cb;
    return Buffer.compare(Buffer.from(a), Buffer.from(b));
  }
  return a.length - b.length;
}

/** The error for a content object whose body is malformed: `Corrupted content object CS: why`. */
export function corruptContent(checksum: string, why: string): ArborError {
  return new ArborError("OBJECT_CORRUPT", `Corrupted content object ${checksum}: ${why}`);
}

/**
 * The error for an object whose data does not hash to its name, in OSTree's words
 * (`Corrupted commit object; checksum expected='…' actual='…'`; content objects are `file`).
 * `data` carries `{checksum, type, actual}` for callers that report it.
 */
export function checksumMismatch(type: string, expected: string, actual: string): ArborError {
  const t = type === "content" ? "file" : type;
  return new ArborError(
    "OBJECT_CORRUPT",
    `Corrupted ${t} object; checksum expected='${expected}' actual='${actual}'`,
    {
      data: { checksum: expected, type: t, actual },
    },
  );
}
