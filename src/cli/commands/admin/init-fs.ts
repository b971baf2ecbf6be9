/** `arbor admin init-fs PATH`: create an empty sysroot (as `ostree admin init-fs`). */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "admin init-fs",
  summary: "Initialize a root filesystem",
  usage: "[OPTION…] PATH",
  minArgs: 1,
  argsError: "PATH must be specified",
  options: [{ long: "modern", help: "Only create /boot and /ostree" }],
  async run(ctx, args) {
    const { initFs } = await import("../../../sysroot/init.js");
    const { resolve } = await import("node:path");
    initFs(resolve(ctx.cwd, args.positional[0]!), { modern: args.has("modern") });
  },
};
