/**
 * The `    GPG: …` lines `admin status` prints under a deployment whose origin remote has
 * `gpg-verify` on (ostree's default): each signature on the deployed commit, verified against
 * that remote's keyring. Nothing for unsigned commits or remotes that are not configured.
 */

import type { DeploymentStatus } from "../../../sysroot/status.js";
import type { Sysroot } from "../../../sysroot/sysroot.js";

/** The GPG lines for deployment `d` ("" when there is nothing to say). */
export async function gpgStatusLines(
  sysroot: Sysroot,
  d: DeploymentStatus,
  prefix = "    GPG: ",
): Promise<string> {
  if (!d.originRefspec) return "";
  const { parseRefspec } = await import("../../../core/validate.js");
  let remote: string | null;
  try {
    remote = parseRefspec(d.originRefspec).remote;
  } catch {
    return "";
  }
  if (remote === null) return "";
  const repo = sysroot.repo();
  const { findRemote } = await import("../../../repo/remotes.js");
  const r = findRemote(repo, remote);
  if (!r?.getBool("gpg-verify", true)) return "";
  const { signaturesIn } = await import("../../../sign/commit-sign.js");
  const { GPG_SIGS_KEY } = await import("../../../sign/gpg-sign.js");
  let sigs: Uint8Array[];
  let data: Uint8Array;
  try {
    sigs = signaturesIn(repo.loadCommitMeta(d.checksum), GPG_SIGS_KEY);
    data = repo.readMetadata("commit", d.checksum);
  } catch {
    return "";
  }
  if (sigs.length === 0) return "";
  const { keyringFor } = await import("../../../sign/gpg-keyrings.js");
  const { describeGpgSignature, gpgVerifyData } = await import("../../../sign/gpg-verify.js");
  const result = await gpgVerifyData(data, sigs, await keyringFor(repo, remote));
  return result.signatures.map((s) => describeGpgSignature(s, prefix)).join("");
}
