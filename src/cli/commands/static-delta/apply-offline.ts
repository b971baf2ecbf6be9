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
  options: [{ long: "sign-type", arg: "NAME", help: "Signature type to use (defaults to 'ed25519')" }],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { applyDeltaOffline } = await import("../../../delta/apply.js");
    const { resolve } = await import("node:path");
    await applyDeltaOffline(Repo.open(ctx.repoPath()), resolve(ctx.cwd, args.positional[0]!), {
      signType: args.str("sign-type"),
      keys: args.positional.slice(1),
      env: ctx.env,
      signal: ctx.signal,
    });
  },
};
