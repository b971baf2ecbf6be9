/** `static-delta reindex [--to=CHECKSUM]` (as `ostree static-delta reindex`): rewrite delta-indexes/. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta reindex",
  summary: "Regenerate static delta indexes",
  usage: "[OPTION…]",
  repo: true,
  options: [{ long: "to", arg: "REV", help: "Only update delta index to revision REV" }],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { reindexDeltas } = await import("../../../repo/delta-store.js");
    const { ArborError } = await import("../../../errors.js");
    const to = args.str("to");
    // like ostree, --to takes a full checksum, not a ref
    if (to !== undefined && !/^[0-9a-f]{64}$/.test(to)) throw new ArborError("BAD_NAME", `Invalid rev ${to}`);
    reindexDeltas(Repo.open(ctx.repoPath()), to);
  },
};
