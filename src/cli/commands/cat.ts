/** `arbor cat REV PATH…`: write files of a commit to stdout. */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "cat",
  summary: "Concatenate contents of files",
  usage: "[OPTION…] COMMIT PATH…",
  repo: true,
  minArgs: 2,
  argsError: "A COMMIT argument is required",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { lookupPath } = await import("../../repo/lookup.js");
    const { statFileObject, fileDataStream } = await import("../../repo/read-object.js");
    const { ArborError } = await import("../../errors.js");
    const repo = Repo.open(ctx.repoPath());
    const [rev, ...paths] = args.positional as [string, ...string[]];
    const commit = repo.loadCommit(resolveRev(repo, rev)!);
    for (const p of paths) {
      const hit = lookupPath(repo, commit.rootTree, commit.rootMeta, p);
      if (!hit) throw new ArborError("NOT_FOUND", `No such file or directory: ${p}`);
      if (hit.kind !== "file") throw new ArborError("USAGE", `"${p}" is a directory`);
      const obj = statFileObject(repo, hit.checksum);
      if (obj.header.symlinkTarget) throw new ArborError("USAGE", `"${p}" is a symbolic link`);
      for await (const chunk of fileDataStream(obj)) ctx.out.bytes(chunk);
    }
  },
};
