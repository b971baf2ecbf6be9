/**
 * `arbor fsck`: check the repository for consistency, printing what `ostree fsck` prints:
 * the stage lines on stdout (not with `-q`), each problem on stderr as found, then either
 * "object fsck of N commits completed successfully - no errors found." or `error: …` and exit 1.
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "fsck",
  summary: "Check the repository for consistency",
  usage: "[OPTION…]",
  repo: true,
  json: true,
  options: [
    { long: "add-tombstones", help: "Add tombstones for missing commits" },
    { long: "quiet", short: "q", help: "Only print error messages" },
    { long: "all", short: "a", help: "Don't stop on first error" },
    { long: "delete", help: "Remove corrupted objects" },
    { long: "verify-bindings", help: "Verify ref bindings" },
    { long: "verify-back-refs", help: "Verify back-references (implies --verify-bindings)" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { fsckRepo } = await import("../../repo/fsck.js");
    const { ArborError } = await import("../../errors.js");
    const repo = Repo.open(ctx.repoPath());
    const quiet = args.has("quiet");
    const say = (line: string): void => {
      if (!ctx.json) ctx.out.line(line);
    };
    const progress = ctx.json ? null : ctx.progress();
    const result = await fsckRepo(repo, {
      all: args.has("all"),
      delete: args.has("delete"),
      quiet,
      addTombstones: args.has("add-tombstones"),
      verifyBindings: args.has("verify-bindings"),
      verifyBackRefs: args.has("verify-back-refs"),
      signal: ctx.signal,
      onProgress(p) {
        if (p.done !== undefined) {
          progress?.update(`fsck objects (${p.done}/${p.total})`);
          return;
        }
        if (p.phase === "refs") say("Validating refs...");
        else if (p.phase === "collection-refs") say("Validating refs in collections...");
        else if (p.phase === "enumerate") say("Enumerating commits...");
        else say(`Verifying content integrity of ${p.commits} commit objects...`);
      },
      onWarning(w) {
        if (ctx.json) return;
        progress?.clear();
        if (w.kind === "tombstone") ctx.out.line(w.message);
        else ctx.err.write(`${w.message}\n`);
      },
    }).finally(() => progress?.done());
    if (ctx.json) {
      const { apiVersion: _v, kind: _k, ...data } = result;
      ctx.printJson("FsckResult", data);
      return result.ok ? 0 : 1;
    }
    if (!args.has("add-tombstones") && result.partialNotVerified > 0)
      ctx.out.line(`${result.partialNotVerified} partial commits not verified`);
    if (!result.ok)
      throw new ArborError("OBJECT_CORRUPT", result.error ?? "Repository corruption encountered");
    ctx.out.line(`object fsck of ${result.commits} commits completed successfully - no errors found.`);
  },
};
