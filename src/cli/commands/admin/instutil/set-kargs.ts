/**
 * `arbor admin instutil set-kargs [--merge] [--replace=K=V] [--append=K=V] [ARG…]`: replace the
 * kernel arguments of the default deployment (a new boot entry set is written), as ostree.
 */
import type { CommandSpec } from "../../../command.js";
import { messages, withSysroot } from "../common.js";

export const command: CommandSpec = {
  name: "admin instutil set-kargs",
  summary: "Set new kernel command line arguments(Not stable)",
  usage: "[OPTION…] ARGS",
  options: [
    { long: "import-proc-cmdline", help: "Import current /proc/cmdline" },
    { long: "merge", help: "Merge with previous command line" },
    {
      long: "replace",
      arg: "NAME=VALUE",
      repeat: true,
      help: "Set kernel argument, like root=/dev/sda1; this overrides any earlier argument with the same name",
    },
    {
      long: "append",
      arg: "NAME=VALUE",
      repeat: true,
      help: "Append kernel argument; useful with e.g. console= that can be used multiple times",
    },
  ],
  async run(ctx, args) {
    const { readFileSync } = await import("node:fs");
    const { ArborError, fromSystemError } = await import("../../../../errors.js");
    const { KernelArgs, kargsFromProcCmdline } = await import("../../../../sysroot/kargs.js");
    const { setDeploymentKargs } = await import("../../../../sysroot/write-list.js");
    await withSysroot(ctx, async (sysroot) => {
      const first = sysroot.deployments[0];
      if (!first) throw new ArborError("NOT_FOUND", "Unable to find a deployment in sysroot");
      let kargs = new KernelArgs();
      if (args.has("import-proc-cmdline")) {
        try {
          kargs = kargsFromProcCmdline(readFileSync("/proc/cmdline", "utf8"));
        } catch (e) {
          throw fromSystemError("Cannot read /proc/cmdline", e);
        }
      } else if (args.has("merge")) {
        kargs = KernelArgs.parse(first.bootconfig?.get("options") ?? "");
      }
      kargs.replaceAll(args.list("replace"));
      kargs.appendAll(args.list("append"));
      for (const a of args.positional) kargs.append(a);
      await setDeploymentKargs(sysroot, first, kargs.toArgv(), messages(ctx));
    });
  },
};
