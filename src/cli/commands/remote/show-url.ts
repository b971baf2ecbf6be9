/** `remote show-url NAME` (as `ostree remote show-url`). */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote show-url",
  summary: "Show remote repository URL",
  usage: "[OPTION…] NAME",
  repo: true,
  minArgs: 1,
  argsError: "NAME must be specified",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { getRemote } = await import("../../../repo/remotes.js");
    ctx.out.line(getRemote(Repo.open(ctx.repoPath()), args.positional[0]!).url);
  },
};
