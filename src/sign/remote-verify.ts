/**
 * What a remote requires before anything it serves is trusted (fact sheet §4.3, §5.4):
 *  - `gpg-verify` (default true): a valid GPG signature on each commit, with the remote's keyring;
 *  - `gpg-verify-summary` (default false): a valid GPG signature on the summary;
 *  - `sign-verify` / `sign-verify-summary`: `true` = any engine that has keys configured, or an
 *    explicit list of engine names (each must have keys); `false`/unset = off.
 * When several kinds are required, each must find a valid signature. Errors name the commit (or
 * the summary), the key and what failed.
 */
import type { VarDict } from "../core/metadata.js";
import { ArborError, withContext } from "../errors.js";
import type { Remote } from "../repo/remotes.js";
import type { Repo } from "../repo/repo.js";
import { signaturesIn } from "./commit-sign.js";
import { getSignEngine, type PublicKeySet, SIGN_ENGINE_NAMES, type SignEngine } from "./engine.js";
import { type KeyringOptions, keyringFor } from "./gpg-keyrings.js";
import { GPG_SIGS_KEY } from "./gpg-sign.js";
import {
  describeGpgSignature,
  type GpgVerifyResult,
  gpgVerifyData,
  requireValidGpgSignature,
} from "./gpg-verify.js";
import { loadSystemKeys, remoteSignKeys } from "./keys.js";

/** One signapi engine with the keys it verifies with (null = the system keys, loaded on use). */
export interface EngineWithKeys {
  engine: SignEngine;
  keys: PublicKeySet | null;
}

/** A remote's verification requirements. */
export interface VerifyPolicy {
  remote: string;
  gpg: boolean;
  gpgSummary: boolean;
  commitEngines: EngineWithKeys[] | null;
  summaryEngines: EngineWithKeys[] | null;
}

async function enginesFromConfig(
  remote: Remote,
  key: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<EngineWithKeys[] | null> {
  const raw = remote.get(key)?.trim();
  if (raw === undefined || raw === "" || raw === "false" || raw === "0") return null;
  const out: EngineWithKeys[] = [];
  if (raw === "true" || raw === "1") {
    for (const name of SIGN_ENGINE_NAMES) {
      const engine = await getSignEngine(name, env);
      out.push({ engine, keys: remoteSignKeys(engine, remote, false) });
    }
    return out;
  }
  // an explicit list; `remote add --sign-verify` joins several with ","
  for (const name of raw.split(/[;,]/).filter((s) => s !== "")) {
    const engine = await getSignEngine(name, env);
    out.push({ engine, keys: remoteSignKeys(engine, remote, true) });
  }
  return out;
}

/**
 * Read a remote's requirements. `overrides` lets `pull --untrusted`-style callers force GPG off/on.
 * @throws ArborError BAD_CONFIG, UNSUPPORTED (unknown sign type), SIGNATURE_MISSING (required keys missing)
 */
export async function verifyPolicyFor(
  remote: Remote,
  opts: {
    env?: Readonly<Record<string, string | undefined>>;
    gpgVerify?: boolean;
    gpgVerifySummary?: boolean;
    /** `false` ignores the remote's sign-verify (as ostree's pull option of that name). */
    signVerify?: boolean;
    signVerifySummary?: boolean;
  } = {},
): Promise<VerifyPolicy> {
  const env = opts.env ?? process.env;
  return {
    remote: remote.name,
    gpg: opts.gpgVerify ?? remote.gpgVerify,
    gpgSummary: opts.gpgVerifySummary ?? remote.gpgVerifySummary,
    commitEngines: opts.signVerify === false ? null : await enginesFromConfig(remote, "sign-verify", env),
    summaryEngines:
      opts.signVerifySummary === false ? null : await enginesFromConfig(remote, "sign-verify-summary", env),
  };
}

/**
 * Verify with signapi engines: the first engine whose signatures are present and verify wins.
 * @returns the engine's success message.
 * @throws ArborError SIGNATURE_MISSING "No signatures found", SIGNATURE_INVALID (first failure,
 *   prefixed with the count of other invalid signatures)
 */
export function verifyWithEngines(engines: EngineWithKeys[], data: Uint8Array, meta: VarDict | null): string {
  let found = false;
  let first: unknown = null;
  let invalid = 0;
  for (const { engine, keys } of engines) {
    const sigs = meta ? signaturesIn(meta, engine.metadataKey) : [];
    if (!meta?.some(([k]) => k === engine.metadataKey)) continue;
    found = true;
    try {
      return engine.verify(data, sigs, keys ?? loadSystemKeys(engine));
    } catch (e) {
      invalid++;
      first ??= e;
    }
  }
  if (!found) throw new ArborError("SIGNATURE_MISSING", "No signatures found");
  const err = first instanceof ArborError ? first : new ArborError("SIGNATURE_INVALID", String(first));
  throw invalid > 1 ? withContext(`(${invalid - 1} other invalid signatures)`, err) : err;
}

/** GPG-verify `data` against `ostree.gpgsigs` in `meta` with a remote's keyring. */
export async function gpgVerifyForRemote(
  repo: Repo,
  remote: string | null,
  data: Uint8Array,
  meta: VarDict | null,
  opts: KeyringOptions & { now?: number } = {},
): Promise<GpgVerifyResult> {
  const sigs = signaturesIn(meta, GPG_SIGS_KEY);
  if (!meta?.some(([k]) => k === GPG_SIGS_KEY)) {
    throw new ArborError(
      "SIGNATURE_MISSING",
      "GPG verification enabled, but no signatures found (use gpg-verify=false in remote config to disable)",
    );
  }
  return gpgVerifyData(data, sigs, await keyringFor(repo, remote, opts), { now: opts.now });
}

/**
 * Verify a commit (its exact `.commit` bytes and detached metadata) as the remote requires.
 * @returns human-readable results (`GPG: Good signature…`, `ed25519: Signature verified…`), "" if nothing was required.
 * @throws ArborError SIGNATURE_MISSING / SIGNATURE_INVALID, message starting `Commit CHECKSUM:`
 */
export async function verifyCommitForRemote(
  repo: Repo,
  policy: VerifyPolicy,
  checksum: string,
  commitBytes: Uint8Array,
  meta: VarDict | null,
  opts: KeyringOptions & { now?: number } = {},
): Promise<string> {
  const results: string[] = [];
  if (policy.gpg) {
    try {
      const r = await gpgVerifyForRemote(repo, policy.remote, commitBytes, meta, opts);
      requireValidGpgSignature(r);
      results.push(r.signatures.map((s) => describeGpgSignature(s, "GPG: ")).join(""));
    } catch (e) {
      throw withContext(`Commit ${checksum}`, e);
    }
  }
  if (policy.commitEngines) {
    try {
      if (!meta) throw new ArborError("SIGNATURE_MISSING", "Can't verify commit without detached metadata");
      results.push(verifyWithEngines(policy.commitEngines, commitBytes, meta));
    } catch (e) {
      throw withContext(`Commit ${checksum}: Can't verify commit`, e);
    }
  }
  return results.join("\n");
}

/**
 * Verify summary bytes against summary.sig as the remote requires (gpg-verify-summary,
 * sign-verify-summary).
 * @throws ArborError SIGNATURE_MISSING / SIGNATURE_INVALID naming the remote
 */
export async function verifySummaryForRemote(
  repo: Repo,
  policy: VerifyPolicy,
  summary: Uint8Array,
  sig: VarDict | null,
  opts: KeyringOptions & { now?: number } = {},
): Promise<void> {
  if (policy.gpgSummary) {
    if (!sig) {
      throw new ArborError(
        "SIGNATURE_MISSING",
        `GPG verification enabled, but no summary signatures found (use gpg-verify-summary=false in remote config to disable)`,
        { data: { remote: policy.remote } },
      );
    }
    try {
      requireValidGpgSignature(await gpgVerifyForRemote(repo, policy.remote, summary, sig, opts));
    } catch (e) {
      throw withContext(`Summary of remote "${policy.remote}"`, e);
    }
  }
  if (policy.summaryEngines) {
    try {
      if (!sig)
        throw new ArborError(
          "SIGNATURE_MISSING",
          "Signatures verification enabled, but no summary.sig found (use sign-verify-summary=false in remote config to disable)",
        );
      verifyWithEngines(policy.summaryEngines, summary, sig);
    } catch (e) {
      throw withContext(`Summary of remote "${policy.remote}": Can't verify summary`, e);
    }
  }
}
