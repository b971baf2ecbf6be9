/**
 * `arbor admin instutil grub2-generate [BOOTVERSION]`: print GRUB menu entries for the BLS entries
 * (called by GRUB's 15_ostree script during grub2-mkconfig), as ostree.
 */
import type { CommandSpec } from "../../../command.js";
import { withSysroot } from "../common.js";

export const command: CommandSpec = {
  name: "admin instutil grub2-generate",
  summary: "Generate GRUB2 configuration from given BLS entries",
  usage: "[OPTION…] [BOOTVERSION]",
  maxArgs: 1,
  options: [],
  async run(ctx, args) {
    const { ArborError } = await import("../../../../errors.js");
    const { grub2MenuEntries } = await import("../../../../sysroot/bootloader/grub2-generate.js");
    await withSysroot(
      ctx,
      async (sysroot) => {
        const arg = args.positional[0] ?? ctx.env._OSTREE_GRUB2_BOOTVERSION;
        // Leading digits, as strtoull: "1x" is 1, junk is 0.
        const bv = arg === undefined ? sysroot.bootversion : Number(/^\s*(\d*)/.exec(arg)![1] || "0");
        if (bv !== 0 && bv !== 1) throw new ArborError("USAGE", `Invalid bootversion: ${arg}`);
        ctx.out.write(grub2MenuEntries(sysroot, bv, ctx.env));
      },
      false,
    );
  },
};
