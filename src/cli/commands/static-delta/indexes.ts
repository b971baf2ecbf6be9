/** `static-delta indexes` (as `ostree static-delta indexes`): the commits with a delta index. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta indexes",
  summary: "List static delta indexes",
  usage: "[OPTION…]",
  repo: true,
  json: true,
  options: [],
  async run(ctx) {
    const { Repo } = await import("../../../repo/repo.js");
    const { listDeltaIndexes } = await import("../../../repo/delta-store.js");
    const indexes = listDeltaIndexes(Repo.open(ctx.repoPath()));
    if (ctx.json) {
      ctx.printJson("StaticDeltaIndexes", { indexes });
      return;
    }
    if (indexes.length === 0) ctx.out.line("(No static deltas indexes)");
    for (const i of indexes) ctx.out.line(i);
  },
};
