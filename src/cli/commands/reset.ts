/** `arbor reset REF COMMIT`: point a ref at an earlier commit (as `ostree reset`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "reset",
  summary: "Reset a REF to a previous COMMIT",
  usage: "[OPTION…] REF COMMIT",
  repo: true,
  minArgs: 2,
  maxArgs: 2,
  argsError: "A REF and COMMIT argument is required",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev, readRef } = await import("../../repo/refs.js");
    const { parseRefspec } = await import("../../core/validate.js");
    const { ArborError } = await import("../../errors.js");
    const repo = Repo.open(ctx.repoPath());
    const [refArg, rev] = args.positional as [string, string];
    const { remote, ref } = parseRefspec(refArg);
    if (!readRef(repo, ref, remote)) throw new ArborError("NOT_FOUND", `Refspec '${refArg}' not found`);
    const cs = resolveRev(repo, rev)!;
    repo.loadCommit(cs);
    const { setRefImmediate } = await import("../../repo/ref-immediate.js");
    await setRefImmediate(repo, ref, cs, remote);
  },
};
