/** `remote list-cookies NAME` (as ostree): the cookies of REPO/NAME.cookies.txt. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote list-cookies",
  summary: "Show remote repository cookies",
  usage: "[OPTION…] NAME",
  repo: true,
  minArgs: 1,
  argsError: "NAME must be specified",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { cookieJarPath, formatCookieList, readCookies } = await import("../../../pull/cookies.js");
    const jar = cookieJarPath(Repo.open(ctx.repoPath()).path, args.positional[0]!);
    ctx.out.write(formatCookieList(readCookies(jar)));
  },
};
