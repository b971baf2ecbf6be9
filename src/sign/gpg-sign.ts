/**
 * GPG signing through the `gpg` program, where the secret key lives in a GnuPG home — what
 * OSTree does through GPGME (`commit --gpg-sign=KEYID --gpg-homedir=DIR`, `gpg-sign`,
 * `summary --gpg-sign`). The output is a binary detached signature over the exact bytes given,
 * appended to `ostree.gpgsigs`. arbor never reads secret key material itself.
 */
import { spawn, spawnSync } from "node:child_process";
import type { VarDict } from "../core/metadata.js";
import { ArborError, withContext } from "../errors.js";
import { ghashOrderPairs } from "../gvariant/ghash-order.js";
import { Variant } from "../gvariant/index.js";
import type { Repo } from "../repo/repo.js";
import { appendSignatures, type SummarySigner } from "../repo/summary.js";
import { signaturesIn, writeDetachedMetadata } from "./commit-sign.js";
import { keyringFor, keyringsInHomedir } from "./gpg-keyrings.js";
import { gpgVerifyData, parseKeyrings, resultHasKey } from "./gpg-verify.js";

/** Detached-metadata / summary.sig key for GPG signatures. */
export const GPG_SIGS_KEY = "ostree.gpgsigs";

function gpgArgs(homedir: string | undefined): string[] {
  const a = ["--batch", "--no-tty", "--yes"];
  if (homedir) a.unshift("--homedir", homedir);
  return a;
}

/**
 * Check that `keyId` names a usable secret key in the home; returns the fingerprints of the key
 * and its subkeys.
 * @throws ArborError NOT_FOUND "No gpg key found with ID KEYID (homedir: DIR)", UNSUPPORTED if gpg is missing.
 */
export function checkGpgSecretKey(keyId: string, homedir?: string): string[] {
  const r = spawnSync("gpg", [...gpgArgs(homedir), "--with-colons", "--list-secret-keys", "--", keyId], {
    encoding: "utf8",
  });
  if (r.error) throw new ArborError("UNSUPPORTED", `Cannot run gpg: ${r.error.message}`);
  if (r.status !== 0 || !/^sec:/m.test(r.stdout)) {
    throw new ArborError(
      "NOT_FOUND",
      `No gpg key found with ID ${keyId} (homedir: ${homedir ?? "<default>"})`,
      {
        data: { keyId },
      },
    );
  }
  return [...r.stdout.matchAll(/^fpr:(?:[^:]*:){8}([0-9A-F]+):/gm)].map((m) => m[1]!);
}

/**
 * Sign `data` with the secret key `keyId` from `homedir` (default GnuPG home when undefined).
 * @returns a binary detached signature.
 * @throws ArborError NOT_FOUND (no such key), SIGNATURE_INVALID (gpg failed, with its message)
 */
export async function gpgSignData(data: Uint8Array, keyId: string, homedir?: string): Promise<Uint8Array> {
  checkGpgSecretKey(keyId, homedir);
  const args = [...gpgArgs(homedir), "--local-user", keyId, "--detach-sign", "--output", "-"];
  return new Promise((resolve, reject) => {
    const p = spawn("gpg", args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on("data", (b: Buffer) => out.push(b));
    p.stderr.on("data", (b: Buffer) => err.push(b));
    p.on("error", (e) => reject(new ArborError("UNSUPPORTED", `Cannot run gpg: ${e.message}`)));
    p.on("close", (code) => {
      if (code === 0 && out.length) resolve(new Uint8Array(Buffer.concat(out)));
      else {
        const msg = Buffer.concat(err).toString("utf8").trim().split("\n").pop() ?? "";
        reject(new ArborError("SIGNATURE_INVALID", `Failure signing with GPG key ${keyId}: ${msg}`));
      }
    });
    p.stdin.on("error", () => {});
    p.stdin.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  });
}

/** A summary signer for `summary -u --gpg-sign=KEYID…`. */
export function gpgSummarySigner(keyIds: string[], homedir?: string): SummarySigner {
  return {
    metadataKey: GPG_SIGS_KEY,
    async sign(data) {
      const out: Uint8Array[] = [];
      for (const k of keyIds) out.push(await gpgSignData(data, k, homedir));
      return out;
    },
  };
}

/**
 * `meta` with a GPG signature by `keyId` over the commit bytes `data` added (nothing is written).
 * @throws ArborError EXISTS "Commit is already signed with GPG key KEYID", NOT_FOUND, SIGNATURE_INVALID
 */
export async function gpgSignedMetadata(
  commit: string,
  data: Uint8Array,
  meta: VarDict | null,
  keyId: string,
  homedir?: string,
): Promise<VarDict> {
  const existing = signaturesIn(meta, GPG_SIGS_KEY);
  if (existing.length) {
    // Don't store a second signature by the same key (OSTree checks with the homedir's keys).
    const ring = await parseKeyrings(homedir ? keyringsInHomedir(homedir) : []);
    const r = await gpgVerifyData(data, existing, ring).catch(() => null);
    const fprs = checkGpgSecretKey(keyId, homedir);
    if (r && (resultHasKey(r, keyId) || fprs.some((f) => resultHasKey(r, f)))) {
      throw new ArborError("EXISTS", `Commit is already signed with GPG key ${keyId}`, {
        data: { commit, keyId },
      });
    }
  }
  const sig = await gpgSignData(data, keyId, homedir);
  return appendSignatures(meta, GPG_SIGS_KEY, [sig]);
}

/**
 * Add a GPG signature to a stored commit's detached metadata (`gpg-sign`).
 * @throws ArborError EXISTS "Commit is already signed with GPG key KEYID", NOT_FOUND, SIGNATURE_INVALID
 */
export async function gpgSignCommit(
  repo: Repo,
  commit: string,
  keyId: string,
  homedir?: string,
): Promise<void> {
  let data: Uint8Array;
  let meta: VarDict | null;
  try {
    data = repo.readMetadata("commit", commit);
  } catch (e) {
    throw withContext("Failed to read commit", e);
  }
  try {
    meta = repo.loadCommitMeta(commit);
  } catch (e) {
    throw withContext("Failed to read detached metadata", e);
  }
  await writeDetachedMetadata(repo, commit, await gpgSignedMetadata(commit, data, meta, keyId, homedir));
}

/**
 * Remove the GPG signatures made by any of `keyIds` (as `gpg-sign --delete`). Signatures are
 * matched by issuer key ID / fingerprint, and by primary key when the key is in a known keyring.
 * @returns the number removed.
 */
export async function gpgDeleteSignatures(
  repo: Repo,
  commit: string,
  keyIds: string[],
  homedir?: string,
): Promise<number> {
  const meta = repo.loadCommitMeta(commit);
  const sigs = signaturesIn(meta, GPG_SIGS_KEY);
  if (!meta || sigs.length === 0) return 0;
  const data = repo.readMetadata("commit", commit);
  const ring = await keyringFor(repo, null, homedir ? { homedir } : {});
  const keep: Uint8Array[] = [];
  for (const s of sigs) {
    const r = await gpgVerifyData(data, [s], ring).catch(() => null);
    const hit =
      r !== null &&
      keyIds.some(
        (k) => resultHasKey(r, k) || r.signatures.some((x) => x.fingerprint.endsWith(k.toUpperCase())),
      );
    if (!hit) keep.push(s);
  }
  const n = sigs.length - keep.length;
  if (n === 0) return 0;
  const rest = meta.filter(([k]) => k !== GPG_SIGS_KEY);
  const next: VarDict = keep.length ? [...rest, [GPG_SIGS_KEY, new Variant("aay", keep)]] : rest;
  await writeDetachedMetadata(repo, commit, ghashOrderPairs(next));
  return n;
}
