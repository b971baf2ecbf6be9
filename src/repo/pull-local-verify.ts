/**
 * GPG checks of `pull-local --gpg-verify` / `--gpg-verify-summary` (as ostree): signatures in the
 * source are checked with the keyring of the named remote of the *destination* (the one the refs
 * are written under), so `remote add --gpg-import=KEY origin SRC` then
 * `pull-local --remote=origin --gpg-verify SRC` trusts exactly KEY. The sign module is loaded only
 * when verification is asked for (OpenPGP is large).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeVarDict, type VarDict } from "../core/metadata.js";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import type { Repo } from "./repo.js";

/**
 * Require a valid GPG signature on a commit (its exact bytes) in its detached metadata.
 * @throws ArborError SIGNATURE_MISSING / SIGNATURE_INVALID, message starting `Commit CHECKSUM:`;
 *   NOT_FOUND when the remote is not configured and the commit is signed.
 */
export async function verifyCommitGpg(
  dst: Repo,
  remote: string,
  checksum: string,
  commitBytes: Uint8Array,
  meta: VarDict | null,
): Promise<void> {
  const { gpgVerifyForRemote } = await import("../sign/remote-verify.js");
  const { requireValidGpgSignature } = await import("../sign/gpg-verify.js");
  try {
    requireValidGpgSignature(await gpgVerifyForRemote(dst, remote, commitBytes, meta));
  } catch (e) {
    throw withContext(`Commit ${checksum}`, e);
  }
}

function readMaybe(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return null;
    throw fromSystemError(`Cannot read "${path}"`, e);
  }
}

/**
 * Require the source's `summary` to carry a valid GPG signature in `summary.sig`.
 * @throws ArborError SIGNATURE_MISSING (no summary, or no signature), SIGNATURE_INVALID.
 */
export async function verifySummaryGpg(src: Repo, dst: Repo, remote: string): Promise<void> {
  const hint = "(use gpg-verify-summary=false in remote config to disable)";
  const summary = readMaybe(join(src.path, "summary"));
  if (summary === null) {
    throw new ArborError("SIGNATURE_MISSING", `GPG verification enabled, but no summary found ${hint}`);
  }
  const sig = readMaybe(join(src.path, "summary.sig"));
  if (sig === null) {
    throw new ArborError(
      "SIGNATURE_MISSING",
      `GPG verification enabled, but no summary signatures found ${hint}`,
    );
  }
  const { verifySummaryForRemote } = await import("../sign/remote-verify.js");
  const policy = { remote, gpg: false, gpgSummary: true, commitEngines: null, summaryEngines: null };
  await verifySummaryForRemote(
    dst,
    policy,
    summary,
    decodeVarDict(sig, `signatures of the summary of "${src.path}"`),
  );
}
