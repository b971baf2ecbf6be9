/**
 * `arbor admin rollback`: make the previous deployment the default again — the rollback
 * deployment when booted, else the next deployment of the default's stateroot. (arbor's verb;
 * equivalent to `admin set-default` with that index.)
 */
import type { CommandSpec } from "../../command.js";
import { messages, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin rollback",
  summary: "Make the previous deployment the default",
  usage: "[OPTION…]",
  maxArgs: 0,
  json: true,
  options: [],
  async run(ctx) {
    const { rollbackDeployment } = await import("../../../sysroot/write-list.js");
    await withSysroot(ctx, async (sysroot) => {
      const m = messages(ctx);
      const d = await rollbackDeployment(sysroot, ctx.json ? {} : m);
      if (ctx.json)
        ctx.printJson("Rollback", { stateroot: d.osname, checksum: d.csum, deployserial: d.deployserial });
      else ctx.out.write(`Default deployment is now ${d.osname} ${d.csum}.${d.deployserial}\n`);
    });
  },
};
