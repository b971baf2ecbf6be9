/** `arbor log REF`: show a commit and its ancestors (as `ostree log`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "log",
  summary: "Show log starting at commit or ref",
  usage: "[OPTION…] REF",
  repo: true,
  json: true,
  minArgs: 1,
  maxArgs: 1,
  argsError: "A ref argument is required",
  options: [{ long: "raw", help: "Show raw variant data" }],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { formatCommit, commitJson } = await import("../format-commit.js");
    const repo = Repo.open(ctx.repoPath());
    let cs: string | null = resolveRev(repo, args.positional[0]!)!;
    const commits: Record<string, unknown>[] = [];
    let truncated = false;
    const raw = args.has("raw");
    const text = raw ? await import("../../gvariant/text.js") : null;
    while (cs) {
      const bytes = repo.readMetadataMaybe("commit", cs);
      if (!bytes) {
        truncated = true;
        if (!ctx.json) ctx.out.line("<< History beyond this commit not fetched >>");
        break;
      }
      const c = repo.loadCommit(cs);
      if (ctx.json) commits.push({ ...commitJson(cs, c), partial: repo.isCommitPartial(cs) });
      else if (raw && text) {
        const { COMMIT } = await import("../../gvariant/formats.js");
        const { deserialize } = await import("../../gvariant/index.js");
        ctx.out.line(`commit ${cs}`);
        ctx.out.line(text.printVariant(COMMIT, deserialize(COMMIT, bytes)));
      } else ctx.out.write(formatCommit(cs, c));
      cs = c.parent;
    }
    if (ctx.json) ctx.printJson("Log", { commits, historyTruncated: truncated });
  },
};
