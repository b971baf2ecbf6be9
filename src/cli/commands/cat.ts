/** `arbor cat REV PATH…`: write files of a commit to stdout (symlinks followed, as `ostree cat`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "cat",
  summary: "Concatenate contents of files",
  usage: "[OPTION…] COMMIT PATH...",
  repo: true,
  minArgs: 2,
  argsError: "A COMMIT and at least one PATH argument are required",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { resolveFileFollowing } = await import("../../repo/lookup.js");
    const { statFileObject, fileDataStream } = await import("../../repo/read-object.js");
    const { isLnk } = await import("../../core/mode.js");
    const repo = Repo.open(ctx.repoPath());
    const [rev, ...paths] = args.positional as [string, ...string[]];
    const commit = repo.loadCommit(resolveRev(repo, rev)!);
    const linkTarget = (cs: string): string | null => {
      const h = statFileObject(repo, cs).header;
      return isLnk(h.mode) ? h.symlinkTarget : null;
    };
    for (const p of paths) {
      const hit = resolveFileFollowing(repo, commit.rootTree, p, linkTarget);
      for await (const chunk of fileDataStream(statFileObject(repo, hit.checksum))) ctx.out.bytes(chunk);
    }
  },
};
