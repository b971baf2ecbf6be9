/**
 * `arbor admin kargs edit-in-place --append-if-missing=K=V`: add kernel arguments to every
 * deployment's boot entry by rewriting the entries in place (as ostree).
 */
import type { CommandSpec } from "../../../command.js";
import { withSysroot } from "../common.js";

export const command: CommandSpec = {
  name: "admin kargs edit-in-place",
  summary: "Set new kernel command line arguments in place (applies to all deployments by default)",
  usage: "[OPTION…] ARGS",
  options: [
    {
      long: "append-if-missing",
      arg: "NAME=VALUE",
      repeat: true,
      help: "Append kernel arguments if they do not exist",
    },
  ],
  async run(ctx, args) {
    const { ArborError } = await import("../../../../errors.js");
    const { KernelArgs } = await import("../../../../sysroot/kargs.js");
    const { setKargsInPlace } = await import("../../../../sysroot/edit-deployment.js");
    await withSysroot(ctx, async (sysroot) => {
      if (sysroot.deployments.length === 0)
        throw new ArborError("NOT_FOUND", "Unable to find a deployment in sysroot");
      for (const d of sysroot.deployments) {
        const kargs = KernelArgs.parse(d.bootconfig?.get("options"));
        for (const a of args.list("append-if-missing")) kargs.appendIfMissing(a);
        setKargsInPlace(sysroot, d, kargs.toString());
      }
      sysroot.bumpMtime();
    });
  },
};
