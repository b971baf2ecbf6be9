/**
 * `arbor admin deploy REFSPEC`: check out a commit as a new deployment and make it the default
 * (or stage it for shutdown), as `ostree admin deploy` does.
 */
import type { CommandSpec } from "../../command.js";
import { messages, OPT_OS, requireBootedOrOs, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin deploy",
  summary: "Checkout revision REFSPEC as the new default deployment",
  usage: "[OPTION…] REFSPEC",
  minArgs: 1,
  argsError: "REF/REV must be specified",
  options: [
    OPT_OS,
    { long: "origin-file", arg: "FILENAME", help: "Specify origin file" },
    { long: "no-prune", help: "Don't prune the repo when done" },
    {
      long: "no-merge",
      help: "Do not apply configuration (/etc and kernel arguments) from booted deployment",
    },
    { long: "retain", help: "Do not delete previous deployments" },
    { long: "stage", help: "Complete deployment at OS shutdown" },
    {
      long: "lock-finalization",
      help: "Prevent automatic deployment finalization on shutdown",
      hidden: true,
    },
    { long: "retain-pending", help: "Do not delete pending deployments" },
    { long: "retain-rollback", help: "Do not delete rollback deployments" },
    { long: "not-as-default", help: "Append rather than prepend new deployment" },
    { long: "karg-proc-cmdline", help: "Import current /proc/cmdline" },
    {
      long: "karg",
      arg: "NAME=VALUE",
      repeat: true,
      help: "Set kernel argument, like root=/dev/sda1; this overrides any earlier argument with the same name",
    },
    {
      long: "karg-append",
      arg: "NAME=VALUE",
      repeat: true,
      help: "Append kernel argument; useful with e.g. console= that can be used multiple times",
    },
    { long: "karg-none", help: "Do not import kernel arguments" },
    { long: "karg-delete", arg: "NAME=VALUE", help: "Delete kernel argument if exists" },
    { long: "overlay-initrd", arg: "FILE", repeat: true, help: "Overlay iniramfs file" },
  ],
  async run(ctx, args) {
    if (args.has("karg-proc-cmdline") && args.has("karg-none"))
      throw ctx.usageError("Can't specify both --karg-proc-cmdline and --karg-none");
    if (args.has("karg-none") && args.has("karg-delete"))
      throw ctx.usageError("Can't specify both --karg-none and --karg-delete");
    if (args.has("no-merge") && args.has("karg-delete"))
      throw ctx.usageError("Can't specify both --no-merge and --karg-delete");
    const { ArborError, withContext } = await import("../../../errors.js");
    const { deployWithOptions } = await import("./deploy-run.js");
    await withSysroot(ctx, async (sysroot) => {
      const os = args.str("os");
      try {
        await requireBootedOrOs(sysroot, os);
      } catch (e) {
        throw withContext("Looking for booted deployment", e);
      }
      if (args.has("stage") && (args.has("retain-pending") || args.has("retain-rollback")))
        throw new ArborError("USAGE", "--stage cannot currently be combined with --retain arguments");
      if (args.has("stage") && args.has("not-as-default"))
        throw new ArborError("USAGE", "--stage cannot currently be combined with --not-as-default");
      await deployWithOptions(ctx, sysroot, args, messages(ctx));
    });
  },
};
