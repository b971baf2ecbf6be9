/** `arbor admin undeploy INDEX`: remove a deployment from the boot list (as ostree). */
import type { CommandSpec } from "../../command.js";
import { messages, parseIndex, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin undeploy",
  summary: "Delete deployment INDEX",
  usage: "[OPTION…] INDEX",
  minArgs: 1,
  argsError: "INDEX must be specified",
  options: [],
  async run(ctx, args) {
    const { undeploy } = await import("../../../sysroot/write-list.js");
    await withSysroot(ctx, async (sysroot) => {
      await undeploy(sysroot, parseIndex(args.positional[0]!), {
        ...messages(ctx),
        onRemoved: (d) => ctx.out.write(`Deleted deployment ${d.csum}.${d.deployserial}\n`),
      });
    });
  },
};
