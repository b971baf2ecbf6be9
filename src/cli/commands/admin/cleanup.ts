/** `arbor admin cleanup`: delete unreferenced deployments and prune the repository (as ostree). */
import type { CommandSpec } from "../../command.js";
import { messages, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin cleanup",
  summary: "Delete untagged deployments and repository objects",
  usage: "[OPTION…]",
  maxArgs: 0,
  options: [],
  async run(ctx) {
    const { cleanupSysroot } = await import("../../../sysroot/cleanup.js");
    await withSysroot(ctx, async (sysroot) => {
      await cleanupSysroot(sysroot, { prune: true, onMessage: messages(ctx).onMessage });
    });
  },
};
