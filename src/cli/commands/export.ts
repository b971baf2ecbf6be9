/**
 * `arbor export COMMIT`: write a commit's tree as a GNU tar archive to stdout or `--output=FILE`,
 * byte-identical to `ostree export` (see repo/export.ts).
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "export",
  summary: "Stream COMMIT to stdout in tar format",
  usage: "[OPTION…] COMMIT",
  repo: true,
  minArgs: 1,
  argsError: "A COMMIT argument is required",
  options: [
    { long: "no-xattrs", help: "Skip output of extended attributes (GNU tar output has none anyway)" },
    { long: "subpath", arg: "PATH", help: "Checkout sub-directory PATH" },
    { long: "prefix", arg: "PATH", help: "Add PATH as prefix to archive pathnames" },
    { long: "output", short: "o", arg: "PATH", help: "Output to PATH " },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { exportTar } = await import("../../repo/export.js");
    const { resolve } = await import("node:path");
    const repo = Repo.open(ctx.repoPath());
    const output = args.str("output");
    const subpath = args.str("subpath");
    const prefix = args.str("prefix");
    await exportTar(repo, args.positional[0]!, {
      output:
        output !== undefined
          ? resolve(ctx.cwd, output)
          : { write: (chunk: Uint8Array) => ctx.out.bytes(chunk) },
      ...(subpath !== undefined ? { subpath } : {}),
      ...(prefix !== undefined ? { prefix } : {}),
      signal: ctx.signal,
    });
  },
};
