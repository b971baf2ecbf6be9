/**
 * `commit --sign/--sign-type/--gpg-sign/--gpg-homedir`: the signing hook `commitTree` calls inside
 * its transaction, before the ref moves (ed25519 and other signapi engines into detached metadata,
 * GPG through the gpg program), as `ostree commit` signs before committing its transaction.
 */
import type { VarDict } from "../core/metadata.js";
import type { ParsedArgs } from "./command.js";

/** The `signDetached` hook for the signing options given, or undefined when none were. */
export function commitSignHook(
  args: ParsedArgs,
): ((commit: string, bytes: Uint8Array, detached: VarDict | null) => Promise<VarDict | null>) | undefined {
  const keys = args.list("sign");
  const gpgKeys = args.list("gpg-sign");
  if (!keys.length && !gpgKeys.length) return undefined;
  const homedir = args.str("gpg-homedir");
  return async (commit, bytes, detached) => {
    const { commitSignatureMetadata } = await import("../sign/index.js");
    return commitSignatureMetadata(commit, bytes, detached, {
      type: args.str("sign-type") ?? "ed25519",
      keys,
      gpgKeys,
      ...(homedir ? { gpgHomedir: homedir } : {}),
    });
  };
}
