/**
 * `arbor admin status`: list deployments as `ostree admin status` prints them, or as JSON
 * (`{"apiVersion":"arbor/v1","kind":"SysrootStatus",…}`).
 */
import type { CommandSpec } from "../../command.js";
import { withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin status",
  summary: "List deployments",
  usage: "[OPTION…]",
  maxArgs: 0,
  json: true,
  options: [{ long: "verify", short: "V", help: "Print the commit verification status" }],
  async run(ctx, args) {
    const { deploymentStatuses } = await import("../../../sysroot/status.js");
    await withSysroot(
      ctx,
      async (sysroot) => {
        const list = deploymentStatuses(sysroot);
        if (ctx.json) {
          ctx.printJson("SysrootStatus", {
            sysroot: sysroot.path,
            booted: sysroot.isBooted,
            bootversion: sysroot.bootversion,
            subbootversion: sysroot.subbootversion,
            deployments: list,
          });
          return;
        }
        const { gpgStatusLines } = await import("./status-gpg.js");
        if (list.length === 0) {
          ctx.out.write("No deployments.\n");
          return;
        }
        let text = "";
        for (const d of list) {
          const state = d.staged ? " (staged)" : d.pending ? " (pending)" : d.rollback ? " (rollback)" : "";
          text += `${d.booted ? "*" : " "} ${d.stateroot} ${d.checksum}.${d.deployserial}${state}\n`;
          if (d.version !== undefined) text += `    Version: ${d.version}\n`;
          if (d.unlocked !== "none") text += `    Unlocked: ${d.unlocked}\n`;
          if (d.pinned) text += "    Pinned: yes\n";
          if (d.originRefspec === null) text += "    origin: none\n";
          else {
            text +=
              d.originRefspec === undefined
                ? "    origin: <unknown origin type>\n"
                : `    origin refspec: ${d.originRefspec}\n`;
            if (d.sourceTitle !== undefined) text += `    \`- ${d.sourceTitle}\n`;
          }
          if (args.has("verify")) {
            const { ArborError } = await import("../../../errors.js");
            if (d.originRefspec === null)
              throw new ArborError("SYSROOT", "Cannot verify deployment with no origin");
            if (d.originRefspec === undefined)
              throw new ArborError("SYSROOT", "No origin/refspec, cannot verify");
            if (!d.originRefspec.includes(":"))
              throw new ArborError("SYSROOT", "Cannot verify deployment without remote");
            const v = await gpgStatusLines(sysroot, d, "GPG: ");
            if (v) text += v;
          } else text += await gpgStatusLines(sysroot, d);
        }
        ctx.out.write(text);
      },
      false,
    );
  },
};
