/**
 * `arbor admin verify`: re-derive the deployment from its declared inputs and prove the result is
 * the deployed commit and the tree on disk, or say exactly what differs. Exit 0 verified, 1 not,
 * 2 on error.
 */
import type { CommandSpec } from "../../command.js";
import { OPT_OS, withSysroot } from "./common.js";
import { exitTwoOnError, OPT_DEPLOYMENT, selectDeployment } from "./drift/select.js";

export const command: CommandSpec = {
  name: "admin verify",
  summary: "Re-derive the deployment from its declared inputs and compare",
  usage: "[OPTION…]",
  maxArgs: 0,
  json: true,
  options: [
    OPT_OS,
    OPT_DEPLOYMENT,
    { long: "quick", help: "Compare metadata and inode identity only on disk" },
  ],
  async run(ctx, args) {
    return exitTwoOnError(ctx, () =>
      withSysroot(
        ctx,
        async (sysroot) => {
          const { verifyDeployment } = await import("../../../managed/verify.js");
          const d = await selectDeployment(sysroot, args.int("deployment"), args.str("os"));
          const r = await verifyDeployment(sysroot, d, { quick: args.has("quick") });
          if (ctx.json) {
            ctx.printJson("VerifyReport", r);
            return r.ok ? 0 : 1;
          }
          let s = `Deployment ${r.stateroot} ${r.deployment}: base ${r.base}\n`;
          for (const c of r.checks) {
            s += `  ${c.ok ? "ok  " : "FAIL"} ${c.name}\n`;
            for (const p of c.problems) s += `       ${p}\n`;
            for (const i of (c.items ?? []).slice(0, 50)) {
              s += `       ${i.change === "added" ? "A" : i.change === "removed" ? "D" : "M"} ${i.path}${i.kinds?.length ? ` (${i.kinds.join(", ")})` : ""}\n`;
            }
          }
          s += r.ok ? `Verified: ${r.commit} = base + declared layers = tree on disk\n` : "Not verified\n";
          ctx.out.write(s);
          return r.ok ? 0 : 1;
        },
        false,
      ),
    );
  },
};
