/** `remote refs NAME` (as `ostree remote refs`): the refs in the remote's summary, `NAME:REF`. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote refs",
  summary: "List remote refs",
  usage: "[OPTION…] NAME",
  repo: true,
  json: true,
  minArgs: 1,
  argsError: "NAME must be specified",
  options: [
    { long: "revision", short: "r", help: "Show revisions in listing" },
    { long: "cache-dir", arg: "DIR", help: "Use custom cache dir", hidden: true },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { ArborError } = await import("../../../errors.js");
    const { fetchSummaryOfRemote } = await import("../../../pull/pull.js");
    const name = args.positional[0]!;
    const rs = await fetchSummaryOfRemote(Repo.open(ctx.repoPath()), name, {
      env: ctx.env,
      signal: ctx.signal,
    });
    if (!rs.summary)
      throw new ArborError("NOT_FOUND", "Remote refs not available; server has no summary file");
    const refs = [...rs.summary.refs].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
    if (ctx.json) {
      ctx.printJson("RemoteRefs", {
        remote: name,
        refs: refs.map((r) => ({ ref: r.ref, commit: r.checksum })),
      });
      return;
    }
    for (const r of refs)
      ctx.out.line(args.has("revision") ? `${name}:${r.ref}\t${r.checksum}` : `${name}:${r.ref}`);
  },
};
