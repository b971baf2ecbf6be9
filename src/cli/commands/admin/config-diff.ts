/**
 * `arbor admin config-diff`: how /etc differs from its image defaults (`M|D|A    path`, as
 * ostree). `--stale` lists only the local changes that hide a default the target image changed
 * (target: `--rev`, else what the origin refspec points to now); `--json` for both.
 */
import type { CommandSpec } from "../../command.js";
import { OPT_OS, requireBootedOrOs, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin config-diff",
  summary: "Diff current /etc configuration versus default",
  usage: "[OPTION…]",
  maxArgs: 0,
  json: true,
  options: [
    OPT_OS,
    { long: "stale", help: "Only local changes that shadow a default changed in the target image" },
    { long: "rev", arg: "REV", help: "Target image for --stale (default: the origin refspec's commit)" },
  ],
  async run(ctx, args) {
    const { join } = await import("node:path");
    const { ArborError } = await import("../../../errors.js");
    const { diffDirs } = await import("../../../sysroot/diff-dirs.js");
    await withSysroot(
      ctx,
      async (sysroot) => {
        const os = args.str("os");
        await requireBootedOrOs(sysroot, os);
        const d = os !== undefined ? sysroot.mergeDeployment(os) : sysroot.booted;
        if (!d) throw new ArborError("NOT_FOUND", `No deployment for OS '${os}'`);
        const root = sysroot.deploymentPath(d);
        const diff = diffDirs(join(root, "usr/etc"), join(root, "etc"));
        if (!args.has("stale") && !args.has("rev")) {
          if (ctx.json) {
            ctx.printJson("ConfigDiff", {
              stateroot: d.osname,
              deployment: `${d.csum}.${d.deployserial}`,
              ...diff,
            });
            return;
          }
          let text = "";
          for (const p of diff.modified) text += `M    ${p}\n`;
          for (const p of diff.removed) text += `D    ${p}\n`;
          for (const p of diff.added) text += `A    ${p}\n`;
          ctx.out.write(text);
          return;
        }
        const { resolveRev } = await import("../../../repo/refs.js");
        const { staleShadows } = await import("../../../sysroot/etc-merge.js");
        const repo = sysroot.repo();
        let rev = args.str("rev");
        if (rev === undefined) {
          rev = d.origin?.get("origin", "override-commit") ?? d.origin?.get("origin", "refspec");
          if (rev === undefined)
            throw new ArborError("USAGE", "No origin refspec to compare with; use --rev=REV");
        }
        const target = resolveRev(repo, rev)!;
        const stale = staleShadows(repo, diff, d.csum, target);
        if (ctx.json) {
          ctx.printJson("StaleConfig", {
            stateroot: d.osname,
            deployment: `${d.csum}.${d.deployserial}`,
            target,
            stale,
          });
          return;
        }
        ctx.out.write(stale.map((s) => `${s.local}    ${s.path}\n`).join(""));
      },
      false,
    );
  },
};
