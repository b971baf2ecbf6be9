/** `arbor admin pin INDEX…`: pin (or with `--unpin`, unpin) deployments (as ostree). */
import type { CommandSpec } from "../../command.js";
import { withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin pin",
  summary: 'Change the "pinning" state of a deployment',
  usage: "[OPTION…] INDEX",
  minArgs: 1,
  argsError: "INDEX must be specified",
  options: [{ long: "unpin", short: "u", help: "Unset pin" }],
  async run(ctx, args) {
    const { ArborError } = await import("../../../errors.js");
    const { setPinned } = await import("../../../sysroot/edit-deployment.js");
    const { deploymentAt } = await import("../../../sysroot/write-list.js");
    await withSysroot(ctx, async (sysroot) => {
      for (const s of args.positional) {
        if (!/^\d+$/.test(s)) throw new ArborError("USAGE", `Invalid index: ${s}`);
        const n = Number(s);
        if (!Number.isSafeInteger(n)) throw new ArborError("USAGE", `Index too large: ${s}`);
        const d = deploymentAt(sysroot, n);
        const want = !args.has("unpin");
        if (setPinned(sysroot, d, want))
          ctx.out.write(`Deployment ${s} is now ${want ? "pinned" : "unpinned"}\n`);
        else ctx.out.write(`Deployment ${s} is already ${want ? "pinned" : "unpinned"}\n`);
      }
    });
  },
};
