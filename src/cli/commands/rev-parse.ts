/** `arbor rev-parse REV`: print the commit a revision resolves to. */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "rev-parse",
  summary: "Output the target of a rev",
  usage: "[OPTION…] REV",
  repo: true,
  minArgs: 1,
  maxArgs: 1,
  argsError: "REV must be specified",
  options: [
    { long: "single", short: "S", help: "If the rev is a checksum, verify that it exists and is a commit" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const repo = Repo.open(ctx.repoPath());
    const rev = args.positional[0]!;
    const cs = resolveRev(repo, rev)!;
    if (args.has("single") && !repo.hasObject("commit", cs)) {
      const { ArborError } = await import("../../errors.js");
      throw new ArborError("NOT_FOUND", `No such commit ${cs}`);
    }
    ctx.out.line(cs);
  },
};
