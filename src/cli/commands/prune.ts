/**
 * `arbor prune`: delete unreachable objects, printing what `ostree prune` prints:
 * `Total objects: N` then `No unreachable objects`, `Would delete: N objects, freeing SIZE`
 * (`--no-prune`) or `Deleted N objects, SIZE freed`.
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "prune",
  summary: "Search for unreachable objects",
  usage: "[OPTION…]",
  repo: true,
  json: true,
  options: [
    { long: "no-prune", help: "Only display unreachable objects; don't delete" },
    { long: "refs-only", help: "Only compute reachability via refs" },
    {
      long: "depth",
      arg: "DEPTH",
      help: "Only traverse DEPTH parents for each commit (default: -1=infinite)",
    },
    { long: "delete-commit", arg: "COMMIT", help: "Specify a commit to delete" },
    { long: "keep-younger-than", arg: "DATE", help: "Prune all commits older than the specified date" },
    {
      long: "static-deltas-only",
      help: "Change the behavior of delete-commit and keep-younger-than to prune only static deltas",
    },
    {
      long: "retain-branch-depth",
      arg: "BRANCH=DEPTH",
      repeat: true,
      help: "Additionally retain BRANCH=DEPTH commits",
    },
    {
      long: "only-branch",
      arg: "BRANCH",
      repeat: true,
      help: "Only prune BRANCH (may be specified multiple times)",
    },
    { long: "commit-only", help: "Only traverse and delete commit objects." },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { pruneRepo } = await import("../../repo/prune.js");
    const { ArborError } = await import("../../errors.js");
    const { formatSize } = await import("../../core/format-size.js");
    const repo = Repo.open(ctx.repoPath());

    let keepYoungerThan: number | undefined;
    const date = args.str("keep-younger-than");
    if (date !== undefined) {
      const { parseTime } = await import("../parse-time.js");
      try {
        keepYoungerThan = parseTime(date);
      } catch {
        throw new ArborError("USAGE", `Could not parse '${date}'`);
      }
    }
    const retain: Array<[string, number]> = [];
    for (const bd of args.list("retain-branch-depth")) {
      const eq = bd.indexOf("=");
      if (eq < 0) throw new ArborError("USAGE", `Invalid value ${bd}, must specify BRANCH=DEPTH`);
      const ds = bd.slice(eq + 1);
      const m = /^\s*([-+]?\d+)/.exec(ds);
      if (!m) throw new ArborError("USAGE", `Invalid depth ${ds}`);
      const depth = Number(m[1]);
      if (!Number.isSafeInteger(depth) || depth < -2147483648 || depth > 2147483647)
        throw new ArborError("USAGE", `Out of range depth ${ds}`);
      retain.push([bd.slice(0, eq), depth]);
    }
    if (args.has("delete-commit") && args.has("no-prune"))
      throw ctx.usageError("Cannot specify both --delete-commit and --no-prune");

    const r = await pruneRepo(repo, {
      refsOnly: args.has("refs-only"),
      depth: args.int("depth") ?? -1,
      noPrune: args.has("no-prune"),
      deleteCommit: args.str("delete-commit"),
      keepYoungerThan,
      onlyBranch: args.list("only-branch"),
      retainBranchDepth: retain,
      commitOnly: args.has("commit-only"),
      staticDeltasOnly: args.has("static-deltas-only"),
      signal: ctx.signal,
      onWait: (msg) => ctx.err.write(`${msg}\n`),
    });
    if (ctx.json) {
      const { apiVersion: _v, kind: _k, ...data } = r;
      ctx.printJson("PruneResult", data);
      return;
    }
    ctx.out.line(
      r.commitOnly ? `Total (commit only) objects: ${r.objectsTotal}` : `Total objects: ${r.objectsTotal}`,
    );
    if (r.objectsPruned === 0) ctx.out.line("No unreachable objects");
    else if (r.dryRun)
      ctx.out.line(`Would delete: ${r.objectsPruned} objects, freeing ${formatSize(r.bytesFreed)}`);
    else ctx.out.line(`Deleted ${r.objectsPruned} objects, ${formatSize(r.bytesFreed)} freed`);
  },
};
