/** `static-delta list` (as `ostree static-delta list`): every stored delta, hex-named, sorted. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta list",
  summary: "List static delta files",
  usage: "[OPTION…]",
  repo: true,
  json: true,
  options: [],
  async run(ctx) {
    const { Repo } = await import("../../../repo/repo.js");
    const { listDeltas } = await import("../../../repo/delta-store.js");
    const { deltaName } = await import("../../../repo/delta-naming.js");
    const deltas = listDeltas(Repo.open(ctx.repoPath()));
    if (ctx.json) {
      ctx.printJson("StaticDeltaList", {
        deltas: deltas.map((d) => ({ name: deltaName(d), from: d.from, to: d.to })),
      });
      return;
    }
    if (deltas.length === 0) ctx.out.line("(No static deltas)");
    for (const d of deltas) ctx.out.line(deltaName(d));
  },
};
