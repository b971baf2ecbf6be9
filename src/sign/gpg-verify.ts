/**
 * OpenPGP verification of OSTree's GPG signatures (`ostree.gpgsigs`: an `aay` of binary detached
 * signature packets over the `.commit` bytes or the `summary` file), done in-process with the
 * `openpgp` library against the keyrings OSTree would use (see gpg-keyrings.ts).
 *
 * The result mirrors OstreeGpgVerifyResult: one entry per signature with the same flags, and
 * {@link describeGpgSignature} prints the same text as `ostree show`/`pull`. A signature counts
 * as valid only if it verifies cryptographically with a known key that is neither revoked nor
 * expired now, and the signature itself has not expired (GPGME's VALID/GREEN/no-error rule).
 */
import type { Key, SignaturePacket, Subkey } from "openpgp";
import { ArborError } from "../errors.js";

type OpenPGP = typeof import("openpgp");
let openpgpModule: OpenPGP | undefined;
async function openpgp(): Promise<OpenPGP> {
  openpgpModule ??= await import("openpgp");
  return openpgpModule;
}

/** What is known about one signature (OSTree's OstreeGpgSignatureAttr fields). */
export interface GpgSignatureInfo {
  valid: boolean;
  sigExpired: boolean;
  keyExpired: boolean;
  keyRevoked: boolean;
  keyMissing: boolean;
  /** Fingerprint of the signing (sub)key, upper-case hex; the issuer key ID if the key is missing. */
  fingerprint: string;
  /** Fingerprint of the primary key ("" if missing). */
  fingerprintPrimary: string;
  /** Signature creation time (seconds). */
  timestamp: number;
  /** Signature expiry (seconds), 0 if none. */
  expTimestamp: number;
  pubkeyAlgo: string;
  hashAlgo: string;
  userName: string;
  userEmail: string;
  /** Signing key expiry, 0 if none. */
  keyExpTimestamp: number;
  /** Primary key expiry, 0 if none. */
  keyExpTimestampPrimary: number;
}

export interface GpgVerifyResult {
  signatures: GpgSignatureInfo[];
}

/** A parsed set of public keys to verify against. */
export interface GpgKeyring {
  keys: Key[];
}

/**
 * Parse keyring files: binary keyrings (`*.gpg`, `NAME.trustedkeys.gpg`) or ASCII-armored key
 * files. Unparsable data is skipped (as GPGME's import would), so one bad file does not hide
 * the good keys.
 */
export async function parseKeyrings(sources: Uint8Array[]): Promise<GpgKeyring> {
  const pgp = await openpgp();
  const keys: Key[] = [];
  for (const src of sources) {
    if (src.length === 0) continue;
    const head = Buffer.from(src.subarray(0, 64)).toString("latin1");
    try {
      if (head.includes("-----BEGIN PGP")) {
        // one armored block per key file, but a stream may hold several (cat key1.asc key2.asc)
        const text = Buffer.from(src).toString("utf8");
        const blocks = text.match(/-----BEGIN PGP [A-Z ]+-----[\s\S]*?-----END PGP [A-Z ]+-----/g) ?? [];
        for (const b of blocks) {
          try {
            keys.push(...(await pgp.readKeys({ armoredKeys: b })));
          } catch {
            // not a key block (a signature, garbage): skip it
          }
        }
      } else keys.push(...(await pgp.readKeys({ binaryKeys: src })));
    } catch {
      // not a keyring: ignore
    }
  }
  return { keys };
}

const PK_ALGO: Record<number, string> = {
  1: "RSA",
  2: "RSA",
  3: "RSA",
  16: "ELG",
  17: "DSA",
  19: "ECDSA",
  22: "EdDSA",
  27: "EdDSA",
  28: "EdDSA",
};
const HASH_ALGO: Record<number, string> = {
  1: "MD5",
  2: "SHA1",
  3: "RIPEMD160",
  8: "SHA256",
  9: "SHA384",
  10: "SHA512",
  11: "SHA224",
};

function hexUpper(b: Uint8Array): string {
  return Buffer.from(b).toString("hex").toUpperCase();
}

function secs(d: Date | number | null | undefined): number {
  if (d === null || d === undefined || d === Number.POSITIVE_INFINITY) return 0;
  const t = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
}

/**
 * Verify `data` against detached signature blobs with the keys in `keyring`.
 * @param now clock in seconds (tests inject it).
 * @throws ArborError SIGNATURE_MISSING when there are no signatures; SIGNATURE_INVALID when the
 *   signature data cannot be parsed at all.
 */
export async function gpgVerifyData(
  data: Uint8Array,
  signatures: Uint8Array[],
  keyring: GpgKeyring,
  opts: { now?: number } = {},
): Promise<GpgVerifyResult> {
  const pgp = await openpgp();
  const now = opts.now ?? Math.floor(Date.now() / 1000);
  const packets: SignaturePacket[] = [];
  for (const blob of signatures) {
    try {
      const sig = await pgp.readSignature({ binarySignature: blob });
      packets.push(...sig.packets);
    } catch (e) {
      throw new ArborError("SIGNATURE_INVALID", `Invalid GPG signature data: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
  if (packets.length === 0) throw new ArborError("SIGNATURE_MISSING", "No GPG signatures found");
  const out: GpgSignatureInfo[] = [];
  for (const p of packets) out.push(await checkOne(pgp, data, p, keyring, now));
  return { signatures: out };
}

async function checkOne(
  pgp: OpenPGP,
  data: Uint8Array,
  packet: SignaturePacket,
  keyring: GpgKeyring,
  now: number,
): Promise<GpgSignatureInfo> {
  const created = secs(packet.created);
  const expSecs =
    packet.signatureNeverExpires === false && packet.signatureExpirationTime
      ? created + Number(packet.signatureExpirationTime)
      : 0;
  const info: GpgSignatureInfo = {
    valid: false,
    sigExpired: expSecs > 0 && expSecs <= now,
    keyExpired: false,
    keyRevoked: false,
    keyMissing: true,
    fingerprint: packet.issuerFingerprint
      ? hexUpper(packet.issuerFingerprint)
      : packet.issuerKeyID.toHex().toUpperCase(),
    fingerprintPrimary: "",
    timestamp: created,
    expTimestamp: expSecs,
    pubkeyAlgo: PK_ALGO[packet.publicKeyAlgorithm ?? -1] ?? String(packet.publicKeyAlgorithm),
    hashAlgo: HASH_ALGO[packet.hashAlgorithm ?? -1] ?? String(packet.hashAlgorithm),
    userName: "",
    userEmail: "",
    keyExpTimestamp: 0,
    keyExpTimestampPrimary: 0,
  };
  const key = keyring.keys.find((k) => k.getKeys(packet.issuerKeyID).length > 0);
  if (!key) return info;
  info.keyMissing = false;
  const signing: Key | Subkey = key.getKeys(packet.issuerKeyID)[0]!;
  info.fingerprint = signing.getFingerprint().toUpperCase();
  info.fingerprintPrimary = key.getFingerprint().toUpperCase();
  const user = key.users.find((u) => u.userID) ?? null;
  let uid: UserIDLike | null;
  try {
    uid = (await key.getPrimaryUser(packet.created ?? undefined)).user.userID ?? null;
  } catch {
    uid = user?.userID ?? null;
  }
  [info.userName, info.userEmail] = splitUserId(uid);
  const primaryExp = await key.getExpirationTime().catch(() => null);
  info.keyExpTimestampPrimary = secs(primaryExp);
  info.keyExpTimestamp =
    signing === key ? info.keyExpTimestampPrimary : secs(await signing.getExpirationTime().catch(() => null));
  info.keyExpired =
    (info.keyExpTimestamp > 0 && info.keyExpTimestamp <= now) ||
    (info.keyExpTimestampPrimary > 0 && info.keyExpTimestampPrimary <= now);
  const nowDate = new Date(now * 1000);
  info.keyRevoked =
    (await key.isRevoked(undefined, undefined, nowDate).catch(() => false)) ||
    (signing !== key &&
      (await (signing as Subkey)
        .isRevoked(undefined as unknown as SignaturePacket, undefined as never, nowDate)
        .catch(() => false)));
  let cryptoOk = false;
  try {
    // Expiry and revocation are judged above, at `now` (as GPGME). Here: is the signing key bound
    // to the primary key by its current self-signatures (as gpg judges it: `gpg --export` keeps
    // only the newest, which may postdate the signature when an expiry changed since), and does
    // the signature verify with it? Time checks are off for the signature itself (date null).
    const at = keyStateDate(key, signing, now);
    await key.verifyPrimaryKey(at);
    if (signing !== key) await (signing as Subkey).verify(at);
    const message = await pgp.createMessage({ binary: data });
    const literal = message.packets.findPacket(pgp.enums.packet.literalData);
    if (!literal) throw new Error("no literal data");
    await packet.verify(signing.keyPacket, packet.signatureType!, literal, null as unknown as Date, true);
    cryptoOk = true;
  } catch {
    cryptoOk = false;
  }
  info.valid = cryptoOk && !info.keyRevoked && !info.keyExpired && !info.sigExpired;
  return info;
}

/**
 * The date at which `key`'s current state is judged: the newest self-signature or binding
 * signature (not past `now`), so an expiry or revocation that took effect later does not hide
 * the key's structure (those are judged separately).
 */
function keyStateDate(key: Key, signing: Key | Subkey, now: number): Date {
  let latest = key.keyPacket.created.getTime();
  const consider = (sigs: SignaturePacket[]): void => {
    for (const s of sigs) {
      const t = s.created?.getTime();
      if (t !== undefined && t > latest && t <= now * 1000) latest = t;
    }
  };
  for (const u of key.users) consider(u.selfCertifications);
  consider((key as unknown as { directSignatures?: SignaturePacket[] }).directSignatures ?? []);
  if (signing !== key) consider((signing as Subkey).bindingSignatures);
  return new Date(latest);
}

/** `%c` in the C locale: `Wed Nov 25 21:32:36 2026`, local time (or UTC). */
export function formatCDate(secsSinceEpoch: number, utc = false): string {
  const d = new Date(secsSinceEpoch * 1000);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p2 = (n: number): string => String(n).padStart(2, "0");
  const [day, mon, date, h, m, s, y] = utc
    ? [
        d.getUTCDay(),
        d.getUTCMonth(),
        d.getUTCDate(),
        d.getUTCHours(),
        d.getUTCMinutes(),
        d.getUTCSeconds(),
        d.getUTCFullYear(),
      ]
    : [d.getDay(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getFullYear()];
  return `${days[day]} ${months[mon]} ${String(date).padStart(2, " ")} ${p2(h)}:${p2(m)}:${p2(s)} ${y}`;
}

function keyId(fpr: string): string {
  return fpr.length > 16 ? fpr.slice(-16) : fpr;
}

/** The text OSTree prints for one signature (`ostree_gpg_verify_result_describe`). */
export function describeGpgSignature(s: GpgSignatureInfo, prefix = ""): string {
  let out = `${prefix}Signature made ${formatCDate(s.timestamp)} using ${s.pubkeyAlgo} key ID ${keyId(s.fingerprint)}\n`;
  out += prefix;
  if (s.keyMissing) out += "Can't check signature: public key not found\n";
  else if (s.valid) out += `Good signature from "${s.userName} <${s.userEmail}>"\n`;
  else if (s.keyRevoked) out += "Key revoked\n";
  else if (s.sigExpired) out += `Expired signature from "${s.userName} <${s.userEmail}>"\n`;
  else out += `BAD signature from "${s.userName} <${s.userEmail}>"\n`;
  const sub = !s.keyMissing && s.fingerprint !== s.fingerprintPrimary;
  if (sub) out += `${prefix}Primary key ID ${keyId(s.fingerprintPrimary)}\n`;
  const exp = (what: string, t: number, expired: boolean): string =>
    `${prefix}${what} ${expired ? "expired" : "expires"} ${formatCDate(t)}\n`;
  if (s.expTimestamp > 0) out += exp("Signature", s.expTimestamp, s.sigExpired);
  if (s.keyExpTimestamp > 0) out += exp("Key", s.keyExpTimestamp, s.keyExpired);
  if (s.keyExpTimestampPrimary > 0 && sub) out += exp("Primary key", s.keyExpTimestampPrimary, s.keyExpired);
  return out;
}

/** Number of valid signatures. */
export function countValid(r: GpgVerifyResult): number {
  return r.signatures.filter((s) => s.valid).length;
}

/** True if a signature was made by `keyId` (key ID or fingerprint suffix, any case). */
export function resultHasKey(r: GpgVerifyResult, id: string): boolean {
  const want = id.toUpperCase().replace(/^0X/, "");
  return r.signatures.some(
    (s) => !s.keyMissing && (s.fingerprint.endsWith(want) || s.fingerprintPrimary.endsWith(want)),
  );
}

/**
 * Require at least one valid signature, as `ostree_gpg_verify_result_require_valid_signature`:
 * the error text is every signature's description (last first).
 * @throws ArborError SIGNATURE_INVALID with data {reason: "missing-key"|"revoked-key"|"expired-key"|"expired-signature"|"bad-signature"}
 */
export function requireValidGpgSignature(r: GpgVerifyResult): void {
  if (countValid(r) > 0) return;
  if (r.signatures.length === 0) throw new ArborError("SIGNATURE_MISSING", "No GPG signatures found");
  let text = "";
  for (let i = r.signatures.length - 1; i >= 0; i--) text += describeGpgSignature(r.signatures[i]!, "");
  const last = r.signatures[r.signatures.length - 1]!;
  const reason = last.keyMissing
    ? "missing-key"
    : last.keyRevoked
      ? "revoked-key"
      : last.keyExpired
        ? "expired-key"
        : last.sigExpired
          ? "expired-signature"
          : "bad-signature";
  throw new ArborError("SIGNATURE_INVALID", text.trimEnd(), {
    data: { reason, keys: r.signatures.map((s) => s.fingerprint) },
  });
}

interface UserIDLike {
  name?: string;
  email?: string;
  userID?: string;
}

/**
 * Name and email of a user ID, as GPGME reports them. openpgp.js leaves both empty for a user ID
 * without an address (`Name-Real: Test Key 1` alone), so the raw `Name (comment) <email>` string
 * is split here then.
 */
export function splitUserId(uid: UserIDLike | null): [string, string] {
  if (!uid) return ["", ""];
  if (uid.name || uid.email) return [uid.name ?? "", uid.email ?? ""];
  const m = /^\s*(.*?)\s*(?:\((.*)\))?\s*(?:<([^>]*)>)?\s*$/.exec(uid.userID ?? "");
  return m ? [m[1] ?? "", m[3] ?? ""] : [uid.userID ?? "", ""];
}
