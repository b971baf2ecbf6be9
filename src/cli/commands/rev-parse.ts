/** `arbor rev-parse REV…`: print the commit each revision resolves to (as `ostree rev-parse`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "rev-parse",
  summary: "Output the target of a rev",
  usage: "[OPTION…] REV",
  repo: true,
  options: [
    {
      long: "single",
      short: "S",
      help: "If the repository has exactly one commit, then print it; any other case will result in an error",
    },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { listCommitObjects, resolveRev } = await import("../../repo/refs.js");
    const repo = Repo.open(ctx.repoPath());
    if (args.has("single")) {
      if (args.positional.length > 0) throw ctx.usageError("Cannot specify arguments with --single");
      const { ArborError } = await import("../../errors.js");
      const commits = listCommitObjects(repo);
      if (commits.length === 0) throw new ArborError("NOT_FOUND", "No commit objects found");
      if (commits.length > 1) throw new ArborError("CONFLICT", "Multiple commit objects found");
      ctx.out.line(commits[0]!);
      return;
    }
    if (args.positional.length === 0) throw ctx.usageError("REV must be specified");
    for (const rev of args.positional) ctx.out.line(resolveRev(repo, rev)!);
  },
};
