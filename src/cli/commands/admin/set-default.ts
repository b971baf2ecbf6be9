/** `arbor admin set-default INDEX`: make a deployment the default (ostree HEAD's verb). */
import type { CommandSpec } from "../../command.js";
import { messages, parseIndex, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin set-default",
  summary: "Set a deployment as the default one",
  usage: "[OPTION…] INDEX",
  minArgs: 1,
  argsError: "INDEX must be specified",
  options: [],
  async run(ctx, args) {
    const { setDefaultDeployment } = await import("../../../sysroot/write-list.js");
    await withSysroot(ctx, async (sysroot) => {
      await setDefaultDeployment(sysroot, parseIndex(args.positional[0]!), messages(ctx));
    });
  },
};
