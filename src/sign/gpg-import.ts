/**
 * `remote gpg-import`: add OpenPGP public keys to a remote's keyring, `REPO/NAME.trustedkeys.gpg`,
 * stored as OSTree stores it — a binary keyring of public key packets (the older "pubring.gpg"
 * format, which both GPGME and arbor read). Keys already present are merged (new user IDs,
 * subkeys, revocations), so importing a revocation revokes the key for that remote.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Key } from "openpgp";
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
