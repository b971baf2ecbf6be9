/**
 * `arbor admin finalize-staged`: apply the staged deployment (run at shutdown by
 * `ostree-finalize-staged.service`). Does nothing outside a booted OSTree system.
 */
import type { CommandSpec } from "../../command.js";
import { messages, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin finalize-staged",
  summary: "Internal command to run at shutdown time",
  usage: "[OPTION…]",
  maxArgs: 0,
  options: [{ long: "hold", help: "Hold /boot open during finalization" }],
  async run(ctx, args) {
    const { existsSync } = await import("node:fs");
    if (!existsSync("/run/ostree-booted")) return;
    if (args.has("hold")) {
      // Keep /boot (an automount) busy until systemd stops us at shutdown.
      const { openSync } = await import("node:fs");
      const { join } = await import("node:path");
      openSync(join(ctx.sysrootPath(), "boot"), "r");
      await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
      return;
    }
    const { finalizeStaged } = await import("../../../sysroot/stage.js");
    await withSysroot(ctx, async (sysroot) => {
      await finalizeStaged(sysroot, messages(ctx));
    });
  },
};
