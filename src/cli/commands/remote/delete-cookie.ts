/**
 * `remote delete-cookie NAME DOMAIN PATH COOKIE_NAME` (as ostree). A cookie that is not in the
 * jar is reported on stderr, and the exit status stays 0 as with ostree.
 */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote delete-cookie",
  summary: "Remove one cookie from remote",
  usage: "[OPTION…] NAME DOMAIN PATH COOKIE_NAME",
  repo: true,
  minArgs: 4,
  argsError: "NAME, DOMAIN, PATH and COOKIE_NAME must be specified",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { cookieJarPath, deleteCookie } = await import("../../../pull/cookies.js");
    const [remote, domain, path, name] = args.positional as [string, string, string, string];
    if (!deleteCookie(cookieJarPath(Repo.open(ctx.repoPath()).path, remote), { domain, path, name }))
      ctx.err.line("warning: Cookie not found in jar");
  },
};
