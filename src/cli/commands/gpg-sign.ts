/**
 * `gpg-sign COMMIT KEY-ID…` (as `ostree gpg-sign`): sign a commit with GPG keys from a GnuPG home
 * (through the gpg program); `--delete` removes the signatures made by those keys.
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "gpg-sign",
  summary: "Sign a commit",
  usage: "[OPTION…] COMMIT KEY-ID...",
  repo: true,
  options: [
    { long: "delete", short: "d", help: "Delete signatures having any of the GPG KEY-IDs" },
    { long: "gpg-homedir", arg: "HOMEDIR", help: "GPG Homedir to use when looking for keyrings" },
  ],
  async run(ctx, args) {
    if (args.positional.length < 1) throw ctx.usageError("Need a COMMIT to sign");
    if (args.positional.length < 2) throw ctx.usageError("Need at least one GPG KEY-ID to sign with");
    const [rev, ...keys] = args.positional as [string, ...string[]];
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { gpgDeleteSignatures, gpgSignCommit } = await import("../../sign/gpg-sign.js");
    const repo = Repo.open(ctx.repoPath());
    const commit = resolveRev(repo, rev)!;
    const homedir = args.str("gpg-homedir");
    if (args.has("delete")) {
      const n = await gpgDeleteSignatures(repo, commit, keys, homedir);
      ctx.out.line(`Signatures deleted: ${n}`);
      return;
    }
    for (const k of keys) await gpgSignCommit(repo, commit, k, homedir);
  },
};
