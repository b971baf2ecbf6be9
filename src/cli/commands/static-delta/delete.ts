/** `static-delta delete DELTA` (as `ostree static-delta delete`): DELTA is `TO` or `FROM-TO` in hex. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta delete",
  summary: "Remove a delta",
  usage: "[OPTION…]",
  repo: true,
  minArgs: 1,
  argsError: "DELTA must be specified",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { deleteDelta, parseDeltaArg } = await import("../../../repo/delta-store.js");
    deleteDelta(Repo.open(ctx.repoPath()), parseDeltaArg(args.positional[0]!));
  },
};
