/**
 * The signature report `ostree show` prints after a commit and `ostree summary --view` after a
 * summary: `Found N signature(s):` then each GPG signature described, indented by two spaces.
 */
import type { VarDict } from "../core/metadata.js";
import type { Repo } from "../repo/repo.js";
import { signaturesIn } from "./commit-sign.js";
import { type KeyringOptions, keyringFor } from "./gpg-keyrings.js";
import { GPG_SIGS_KEY } from "./gpg-sign.js";
import { describeGpgSignature, type GpgVerifyResult, gpgVerifyData } from "./gpg-verify.js";

async function verifyAll(
  repo: Repo,
  data: Uint8Array,
  meta: VarDict | null,
  opts: KeyringOptions & { remote?: string; now?: number },
): Promise<GpgVerifyResult | null> {
  const sigs = signaturesIn(meta, GPG_SIGS_KEY);
  if (sigs.length === 0) return null;
  return gpgVerifyData(data, sigs, await keyringFor(repo, opts.remote ?? null, opts), { now: opts.now });
}

function report(r: GpgVerifyResult, heading: string): string {
  const n = r.signatures.length;
  let s = `${heading.replace("%s", n === 1 ? "" : "s").replace("%u", String(n))}\n`;
  for (const sig of r.signatures) s += `\n${describeGpgSignature(sig, "  ")}`;
  return s;
}

/**
 * What `show COMMIT` prints about the commit's GPG signatures (`--gpg-homedir`, or the keyring of
 * `--gpg-verify-remote` given as `remote`), or null when the commit has none.
 * @throws ArborError NOT_FOUND for an unknown remote, SIGNATURE_INVALID for unparsable signatures
 */
export async function describeCommitGpgSignatures(
  repo: Repo,
  commit: string,
  opts: KeyringOptions & { remote?: string; now?: number } = {},
): Promise<string | null> {
  const data = repo.readMetadata("commit", commit);
  const r = await verifyAll(repo, data, repo.loadCommitMeta(commit), opts);
  return r ? report(r, "Found %u signature%s:") : null;
}

/**
 * What `summary --view` prints after the summary: "Summary is unsigned" or the signatures found.
 */
export async function describeSummarySignatures(
  repo: Repo,
  summary: Uint8Array,
  sig: VarDict | null,
  opts: KeyringOptions & { now?: number } = {},
): Promise<string> {
  if (!sig) return "Summary is unsigned\n";
  const r = await verifyAll(repo, summary, sig, opts);
  if (!r) return "";
  return `\n${report(r, "Found %u signature%s on the summary:")}`;
}
