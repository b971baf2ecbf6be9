/**
 * `remote gpg-import`: add OpenPGP public keys to a remote's keyring, `REPO/NAME.trustedkeys.gpg`,
 * stored as OSTree stores it — a binary keyring of public key packets (the older "pubring.gpg"
 * format, which both GPGME and arbor read). Keys already present are merged (new user IDs,
 * subkeys, revocations), so importing a revocation revokes the key for that remote.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Key, Subkey } from "openpgp";
import { ArborError, fromSystemError } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { getRemote, type RemotesOptions, remoteKeyringPath } from "../repo/remotes.js";
import type { Repo } from "../repo/repo.js";
import { parseKeyrings } from "./gpg-verify.js";

function matches(k: Key, id: string): boolean {
  const want = id.toUpperCase().replace(/^0X/, "");
  for (const sub of k.getKeys()) {
    const fpr = sub.getFingerprint().toUpperCase();
    if (fpr === want || fpr.endsWith(want)) return true;
  }
  return false;
}

/**
 * Import keys from `sources` (keyring files or armored key blocks) into the remote's keyring;
 * with `keyIds`, only those keys (each must be found).
 * @returns how many keys were new to the keyring.
 * @throws ArborError NOT_FOUND (remote, or `Unable to find key "X"`), IO
 */
export async function importRemoteGpgKeys(
  repo: Repo,
  remoteName: string,
  sources: Uint8Array[],
  keyIds: string[] | null,
  opts: RemotesOptions = {},
): Promise<number> {
  const remote = getRemote(repo, remoteName, opts);
  const incoming = (await parseKeyrings(sources)).keys;
  let chosen = incoming;
  if (keyIds?.length) {
    chosen = [];
    for (const id of keyIds) {
      const k = incoming.find((x) => matches(x, id));
      if (!k) throw new ArborError("NOT_FOUND", `Unable to find key "${id}": No public key`);
      chosen.push(k);
    }
  }
  const path = remoteKeyringPath(repo, remote, opts);
  let existing: Key[] = [];
  try {
    if (statSync(path).isFile()) existing = (await parseKeyrings([readFileSync(path)])).keys;
  } catch {
    // no keyring yet
  }
  let imported = 0;
  for (const k of chosen) {
    const i = existing.findIndex((e) => e.getFingerprint() === k.getFingerprint());
    if (i < 0) {
      existing.push(k.toPublic());
      imported++;
    } else {
      existing[i] = await existing[i]!.update(k.toPublic());
    }
  }
  const out = Buffer.concat(existing.map((k) => Buffer.from(k.toPublic().write())));
  try {
    writeFileAtomicSync(join(repo.path, remote.keyringName), out, { mode: 0o644 });
  } catch (e) {
    throw fromSystemError(`Cannot write the keyring of remote "${remoteName}"`, e);
  }
  return imported;
}

/** Public keys of a remote's keyring (for `remote gpg-list-keys`). */
export async function listRemoteGpgKeys(
  repo: Repo,
  remoteName: string,
  opts: RemotesOptions = {},
): Promise<Key[]> {
  const remote = getRemote(repo, remoteName, opts);
  try {
    return (await parseKeyrings([readFileSync(remoteKeyringPath(repo, remote, opts))])).keys;
  } catch {
    return [];
  }
}

// z-base-32 (RFC 6189), as WKD hashes local parts
const ZB32 = "ybndrfg8ejkmcpqxot1uwisza345h769";
function zbase32(b: Uint8Array): string {
  let bits = 0;
  let v = 0;
  let out = "";
  for (const x of b) {
    v = (v << 8) | x;
    bits += 8;
    while (bits >= 5) {
      out += ZB32[(v >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ZB32[(v << (5 - bits)) & 31];
  return out;
}

/** Web Key Directory URLs for an e-mail address (advanced, direct), as GPGME reports them. */
export function wkdUrls(email: string): [string, string] {
  const at = email.lastIndexOf("@");
  if (at < 0) return ["", ""];
  const local = email.slice(0, at);
  const domain = email.slice(at + 1).toLowerCase();
  const hash = zbase32(createHash("sha1").update(local.toLowerCase()).digest());
  const l = encodeURIComponent(local);
  return [
    `https://openpgpkey.${domain}/.well-known/openpgpkey/${domain}/hu/${hash}?l=${l}`,
    `https://${domain}/.well-known/openpgpkey/hu/${hash}?l=${l}`,
  ];
}

/** `remote gpg-list-keys` text for some keys (dates in UTC, as ostree prints them). */
export async function describeGpgKeys(keys: Key[]): Promise<string> {
  const { formatCDate } = await import("./gpg-verify.js");
  let out = "";
  const now = new Date();
  // As gpg (GPGME) reports them: a revoked primary key revokes its user IDs and subkeys too.
  const line = async (k: Key | Subkey, primary: boolean, revoked: boolean): Promise<void> => {
    out += `${primary ? "Key" : "  Subkey"}: ${k.getFingerprint().toUpperCase()}${revoked ? " (revoked)" : ""}\n`;
    const created = Math.floor(k.getCreationTime().getTime() / 1000);
    out += `${primary ? "  " : "    "}Created: ${formatCDate(created, true)}\n`;
    const exp = await k.getExpirationTime().catch(() => null);
    if (exp instanceof Date) {
      const t = Math.floor(exp.getTime() / 1000);
      out += `${primary ? "  " : "    "}${t <= now.getTime() / 1000 ? "Expired" : "Expires"}: ${formatCDate(t, true)}\n`;
    }
  };
  for (const k of keys) {
    const keyRevoked = await k.isRevoked(undefined, undefined, now).catch(() => false);
    await line(k, true, keyRevoked);
    for (const u of k.users) {
      if (!u.userID) continue;
      const uidRevoked =
        keyRevoked ||
        (u.selfCertifications.length > 0 &&
          (await u
            .isRevoked(u.selfCertifications[u.selfCertifications.length - 1]!, undefined, now)
            .catch(() => false)));
      out += `  UID: ${u.userID.userID}${uidRevoked ? " (revoked)" : ""}\n`;
      const [adv, direct] = wkdUrls(u.userID.email ?? "");
      out += `  Advanced update URL: ${adv}\n  Direct update URL: ${direct}\n`;
    }
    for (const sk of k.subkeys) {
      const subRevoked =
        keyRevoked ||
        (sk.bindingSignatures.length > 0 &&
          (await sk
            .isRevoked(sk.bindingSignatures[sk.bindingSignatures.length - 1]!, undefined as never, now)
            .catch(() => false)));
      await line(sk, false, subRevoked);
    }
  }
  return out;
}
