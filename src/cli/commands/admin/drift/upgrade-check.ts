/** `admin upgrade --check`: print what an upgrade would change (docs/managed.md, "Upgrade check"). */

import { formatSize } from "../../../../core/format-size.js";
import type { ParsedArgs } from "../../../command.js";
import type { Context } from "../../../context.js";
import { withSysroot } from "../common.js";

/** Run the check; exit 0 (nothing to do or a plan printed). */
export async function runUpgradeCheck(ctx: Context, args: ParsedArgs): Promise<number> {
  const { checkUpgrade } = await import("../../../../managed/upgrade-check.js");
  return withSysroot(
    ctx,
    async (sysroot) => {
      const os = args.str("os");
      const override = args.str("override-commit");
      const r = await checkUpgrade(sysroot, {
        ...(os !== undefined ? { osname: os } : {}),
        ...(override !== undefined ? { overrideCommit: override } : {}),
        synthetic: args.has("deploy-only"),
      });
      if (ctx.json) {
        ctx.printJson("UpgradeCheck", r);
        return 0;
      }
      if (!r.changed) {
        ctx.out.write("No update available.\n");
        return 0;
      }
      const v = (x: string | null): string => (x === null ? "" : ` (${x})`);
      let s = `Upgrade ${r.stateroot}: base ${r.from.base}${v(r.from.version)} -> ${r.to.base}${v(r.to.version)}\n`;
      s += `  deployment commit: ${r.from.commit} -> ${r.to.commit}\n`;
      s += `  files: ${r.files.added.length} added, ${r.files.removed.length} removed, ${r.files.modified.length} changed\n`;
      s += `  to download: ${r.download.objects} objects, ${formatSize(r.download.bytes)}\n`;
      s += `  disk space needed: ${formatSize(r.diskSpace)}\n`;
      if (r.staleEtc.length) {
        s += "  local /etc changes that will shadow a changed default:\n";
        for (const x of r.staleEtc) s += `    ${x.local} ${x.path}\n`;
      }
      if (ctx.verbose) {
        for (const p of r.files.added) s += `  A ${p}\n`;
        for (const p of r.files.removed) s += `  D ${p}\n`;
        for (const p of r.files.modified) s += `  M ${p}\n`;
      }
      ctx.out.write(s);
      return 0;
    },
    false,
  );
}
