/** `remote list [-u]` (as `ostree remote list`): names sorted, `-u` adds the URLs aligned. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote list",
  summary: "List remote repository names",
  usage: "[OPTION…]",
  repo: true,
  json: true,
  options: [{ long: "show-urls", short: "u", help: "Show remote URLs in list" }],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { loadRemotes } = await import("../../../repo/remotes.js");
    const remotes = loadRemotes(Repo.open(ctx.repoPath()));
    const names = [...remotes.keys()].sort();
    if (ctx.json) {
      ctx.printJson("RemoteList", {
        remotes: names.map((n) => {
          const r = remotes.get(n)!;
          return { name: n, url: r.get("url") ?? null, file: r.file };
        }),
      });
      return;
    }
    if (!args.has("show-urls")) {
      for (const n of names) ctx.out.line(n);
      return;
    }
    const width = Math.max(0, ...names.map((n) => n.length));
    for (const n of names) ctx.out.line(`${n.padEnd(width)}  ${remotes.get(n)!.url}`);
  },
};
