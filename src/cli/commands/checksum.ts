/** `arbor checksum PATH`: print the OSTree checksum of a file or directory. */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "checksum",
  summary: "Checksum a file or directory",
  usage: "[OPTION…] PATH",
  minArgs: 1,
  argsError: "A filename must be given",
  options: [{ long: "ignore-xattrs", help: "Don't include xattrs in checksum" }],
  async run(ctx, args) {
    const { checksumPath } = await import("../../repo/checksum-path.js");
    for (const p of args.positional) {
      const cs = await checksumPath(p, { ignoreXattrs: args.has("ignore-xattrs") });
      ctx.out.line(args.positional.length > 1 ? `${cs}  ${p}` : cs);
    }
  },
};
