/**
 * `arbor admin boot-complete`: run at boot by `ostree-boot-complete.service`; reports (once) a
 * failure of the previous shutdown's `finalize-staged`. Does nothing outside a booted OSTree system.
 */
import type { CommandSpec } from "../../command.js";
import { withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin boot-complete",
  summary: "Finalize a successful boot",
  usage: "[OPTION…]",
  maxArgs: 0,
  options: [],
  async run(ctx) {
    const { existsSync } = await import("node:fs");
    if (!existsSync("/run/ostree-booted")) return;
    const { bootComplete } = await import("../../../sysroot/stage.js");
    await withSysroot(ctx, async (sysroot) => bootComplete(sysroot));
  },
};
