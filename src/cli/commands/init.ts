/** `arbor init`: create a repository (as `ostree init`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "init",
  summary: "Initialize a new empty repository",
  usage: "[OPTION…]",
  repo: true,
  // ostree ignores extra arguments (its own test suite passes one: `ostree init --repo=R init`)
  options: [
    {
      long: "mode",
      arg: "MODE",
      help: 'Initialize repository in given mode (bare, bare-user, bare-user-only, archive); default "bare"',
    },
    {
      long: "collection-id",
      arg: "COLLECTION-ID",
      help: "Globally unique ID for this repository as a collection of refs for redistribution to other repositories",
    },
  ],
  async run(ctx, args) {
    const { Repo, parseRepoMode } = await import("../../repo/repo.js");
    const mode = parseRepoMode(args.str("mode") ?? "bare");
    const collectionId = args.str("collection-id");
    Repo.create(ctx.repoPath(), { mode, ...(collectionId ? { collectionId } : {}) });
  },
};
