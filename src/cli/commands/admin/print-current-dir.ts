/** `arbor admin --print-current-dir`: print the default deployment's directory (as ostree). */
import type { CommandSpec } from "../../command.js";
import { withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin",
  summary: "Commands for managing a host system booted with ostree",
  usage: "[OPTION…] --print-current-dir|COMMAND",
  options: [{ long: "print-current-dir", help: "Print the current deployment directory", hidden: true }],
  async run(ctx) {
    const { ArborError } = await import("../../../errors.js");
    await withSysroot(ctx, async (sysroot) => {
      const d = sysroot.deployments[0];
      if (!d) throw new ArborError("NOT_FOUND", "Unable to find a deployment in sysroot");
      ctx.out.write(`${sysroot.deploymentPath(d)}\n`);
    });
  },
};
