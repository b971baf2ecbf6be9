/** `remote delete NAME` (as `ostree remote delete`): removes the remote and its keyring. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote delete",
  summary: "Delete a remote repository",
  usage: "[OPTION…] NAME",
  repo: true,
  minArgs: 1,
  argsError: "NAME must be specified",
  options: [
    { long: "if-exists", help: "Do nothing if the provided remote does not exist" },
    { long: "sysroot", arg: "PATH", help: "Use sysroot at PATH (overrides --repo)" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { deleteRemote } = await import("../../../repo/remotes.js");
    const sysroot = args.str("sysroot");
    const loc =
      sysroot === undefined
        ? null
        : (await import("../../../sysroot/remotes-location.js")).sysrootRemotesLocation(sysroot);
    deleteRemote(Repo.open(loc ? loc.repoPath : ctx.repoPath()), args.positional[0]!, {
      ifExists: args.has("if-exists"),
      ...(loc ? { remotesDir: loc.remotesDir } : {}),
    });
  },
};
