/**
 * `arbor admin unlock [--hotfix|--transient]`: make the booted deployment's /usr writable through
 * an overlayfs (as ostree). Outside a booted system, or where overlayfs cannot be mounted, it
 * fails with a message saying so.
 */
import type { CommandSpec } from "../../command.js";
import { messages, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin unlock",
  summary: "Make the current deployment mutable (as a hotfix or development)",
  usage: "[OPTION…]",
  maxArgs: 0,
  argsError: "This command takes no extra arguments",
  options: [
    { long: "hotfix", help: "Retain changes across reboots" },
    { long: "transient", help: "Mount overlayfs read-only by default" },
  ],
  async run(ctx, args) {
    const { ArborError } = await import("../../../errors.js");
    const { unlockDeployment } = await import("../../../sysroot/edit-deployment.js");
    await withSysroot(ctx, async (sysroot) => {
      sysroot.requireBooted();
      if (args.has("hotfix") && args.has("transient"))
        throw new ArborError("USAGE", "Cannot specify both --hotfix and --transient");
      const target = args.has("hotfix") ? "hotfix" : args.has("transient") ? "transient" : "development";
      await unlockDeployment(sysroot, target, messages(ctx));
      ctx.out.write(
        target === "hotfix"
          ? "Hotfix mode enabled.  A writable overlayfs is now mounted on /usr\nfor this booted deployment.  A non-hotfixed clone has been created\nas the non-default rollback target.\n"
          : target === "development"
            ? "Development mode enabled.  A writable overlayfs is now mounted on /usr.\nAll changes there will be discarded on reboot.\n"
            : "A writable overlayfs is prepared for /usr, but is mounted read-only by default.\nAll changes there will be discarded on reboot.\n",
      );
    });
  },
};
