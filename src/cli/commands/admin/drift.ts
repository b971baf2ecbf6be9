/**
 * `arbor admin drift`: report what on a deployment differs from its declaration (docs/managed.md,
 * "Drift"): undeclared /etc changes, image files changed, repository corruption, undeclared /var
 * content, unlock overlays. Exit 0 when clean, 1 when drift is found, 2 on error.
 * `admin drift capture --layer NAME [PATH…]` turns chosen drift into a declared layer and deploys.
 */
import type { CommandSpec } from "../../command.js";
import { OPT_OS, withSysroot } from "./common.js";
import { exitTwoOnError, OPT_DEPLOYMENT, selectDeployment } from "./drift/select.js";

export const command: CommandSpec = {
  name: "admin drift",
  summary: "Report state that differs from what was declared",
  usage: "[OPTION…] | capture --layer=NAME [PATH…]",
  json: true,
  options: [
    OPT_OS,
    OPT_DEPLOYMENT,
    { long: "quick", help: "Compare metadata and inode identity only (read no file data)" },
    { long: "layer", arg: "NAME", help: "capture: the layer to capture drift into" },
  ],
  async run(ctx, args) {
    const [verb, ...paths] = args.positional;
    if (verb === "capture")
      return exitTwoOnError(ctx, async () =>
        (await import("./drift/capture.js")).runCapture(ctx, args, paths),
      );
    if (verb !== undefined) throw ctx.usageError(`Unknown argument "${verb}" (did you mean "capture"?)`);
    return exitTwoOnError(ctx, () =>
      withSysroot(
        ctx,
        async (sysroot) => {
          const { detectDrift } = await import("../../../managed/drift.js");
          const { findings, formatDrift } = await import("./drift/format.js");
          const d = await selectDeployment(sysroot, args.int("deployment"), args.str("os"));
          const r = await detectDrift(sysroot, d, { quick: args.has("quick"), signal: ctx.signal });
          if (ctx.json) ctx.printJson("DriftReport", r);
          else ctx.out.write(formatDrift(r));
          return findings(r) === 0 ? 0 : 1;
        },
        false,
      ),
    );
  },
};
