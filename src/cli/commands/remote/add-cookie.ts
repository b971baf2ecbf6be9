/** `remote add-cookie NAME DOMAIN PATH COOKIE_NAME VALUE` (as ostree): into REPO/NAME.cookies.txt. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote add-cookie",
  summary: "Add a cookie to remote",
  usage: "[OPTION…] NAME DOMAIN PATH COOKIE_NAME VALUE",
  repo: true,
  minArgs: 5,
  argsError: "NAME, DOMAIN, PATH, COOKIE_NAME and VALUE must be specified",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { addCookie, cookieJarPath } = await import("../../../pull/cookies.js");
    const [remote, domain, path, name, value] = args.positional as [string, string, string, string, string];
    addCookie(cookieJarPath(Repo.open(ctx.repoPath()).path, remote), { domain, path, name, value });
  },
};
