/**
 * `arbor admin upgrade`: pull the merge deployment's origin and deploy it if it changed (as
 * `ostree admin upgrade`). `--reboot` is refused outside a booted system.
 */
import type { CommandSpec } from "../../command.js";
import { messages, OPT_OS, requireBootedOrOs, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin upgrade",
  summary: "Construct new tree from current origin and deploy it, if it changed",
  usage: "[OPTION…]",
  maxArgs: 0,
  json: true,
  options: [
    OPT_OS,
    { long: "reboot", short: "r", help: "Reboot after a successful upgrade" },
    { long: "allow-downgrade", help: "Permit deployment of chronologically older trees" },
    { long: "override-commit", arg: "CHECKSUM", help: "Deploy CHECKSUM instead of the latest tree" },
    { long: "pull-only", help: "Do not create a deployment, just download" },
    { long: "deploy-only", help: "Do not pull, only deploy" },
    { long: "stage", help: "Enable staging (finalization at reboot time)" },
    { long: "check", help: "Say what an upgrade would change, writing nothing (arbor)" },
  ],
  async run(ctx, args) {
    const { ArborError } = await import("../../../errors.js");
    if (args.has("pull-only") && args.has("deploy-only"))
      throw new ArborError("USAGE", "Cannot simultaneously specify --pull-only and --deploy-only");
    if (args.has("pull-only") && args.has("reboot"))
      throw new ArborError("USAGE", "Cannot simultaneously specify --pull-only and --reboot");
    const { Upgrader } = await import("../../../sysroot/upgrade.js");
    const { removeTransientState } = await import("../../../sysroot/origin.js");
    const { cliPuller } = await import("./puller.js");
    if (args.has("check")) return (await import("./drift/upgrade-check.js")).runUpgradeCheck(ctx, args);
    const { deriveHook } = await import("../../../managed/derive.js");
    await withSysroot(ctx, async (sysroot) => {
      await requireBootedOrOs(sysroot, args.str("os"));
      if (args.has("reboot") && !sysroot.booted) {
        throw new ArborError(
          "SYSROOT",
          "Cannot reboot: not running in the booted system of this sysroot (use --reboot only on a booted OSTree system)",
        );
      }
      const osname = args.str("os");
      const up = Upgrader.create(sysroot, {
        ...(osname !== undefined ? { osname } : {}),
        derive: deriveHook,
      });
      const origin = up.origin;
      removeTransientState(origin);
      const override = args.str("override-commit");
      if (override !== undefined) origin.set("origin", "override-commit", override);
      up.setOrigin(origin);
      const m = messages(ctx);
      let changed: boolean;
      try {
        changed = await up.pull({
          allowOlder: args.has("allow-downgrade"),
          synthetic: args.has("deploy-only"),
          puller: await cliPuller(),
          signal: ctx.signal,
        });
      } catch (e) {
        if (args.has("pull-only")) {
          const { cleanupSysroot } = await import("../../../sysroot/cleanup.js");
          await cleanupSysroot(sysroot, { prune: true }).catch(() => {});
        }
        throw e;
      }
      if (!changed) {
        ctx.out.write("No update available.\n");
        return;
      }
      if (!args.has("pull-only")) {
        const stage = args.has("stage") || ctx.env.OSTREE_EX_STAGE_DEPLOYMENTS !== undefined;
        await up.deploy({ stage, ...m });
      }
      if (args.has("reboot")) {
        const { spawnSync } = await import("node:child_process");
        spawnSync("systemctl", ["reboot"], { stdio: "inherit" });
      }
    });
  },
};
