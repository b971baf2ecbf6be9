/**
 * `static-delta apply-offline [--sign-type=NAME] PATH [KEY…]` (as `ostree static-delta
 * apply-offline`): apply a delta directory or single-file delta; with keys (or
 * `core.sign-verify-deltas`), its signature is verified first.
 */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta apply-offline",
  summary: "Apply static delta file",
  usage: "[OPTION…]",
  repo: true,
  minArgs: 1,
  argsError: "PATH must be specified",
  options: [
    { long: "sign-type", arg: "NAME", help: "Signature type to use (defaults to 'ed25519')" },
    // newer ostree (not 2022.7): public keys from a file, one per line
    { long: "keys-file", arg: "NAME", help: "Read key(s) from file", hidden: true },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { applyDeltaOffline } = await import("../../../delta/apply.js");
    const { resolve } = await import("node:path");
    const { deltaKeys } = await import("../../delta-keys.js");
    const keys = await deltaKeys(ctx, args, args.positional.slice(1), "public");
    await applyDeltaOffline(Repo.open(ctx.repoPath()), resolve(ctx.cwd, args.positional[0]!), {
      signType: args.str("sign-type"),
      keys,
      env: ctx.env,
      signal: ctx.signal,
    });
  },
};
