/**
 * `arbor admin set-origin REMOTENAME URL [BRANCH]`: add the remote if missing and point a
 * deployment's origin at it (as ostree).
 */
import type { CommandSpec } from "../../command.js";
import { withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin set-origin",
  summary: "Set Origin and create a new origin file",
  usage: "[OPTION…] REMOTENAME URL [BRANCH]",
  minArgs: 2,
  argsError: "REMOTENAME and URL must be specified",
  options: [
    {
      long: "set",
      short: "s",
      arg: "KEY=VALUE",
      repeat: true,
      help: "Set config option KEY=VALUE for remote",
    },
    { long: "index", arg: "INDEX", help: "Operate on the deployment INDEX, starting from zero" },
  ],
  async run(ctx, args) {
    const { ArborError } = await import("../../../errors.js");
    const { addRemote } = await import("../../../repo/remotes.js");
    const { parseRefspec } = await import("../../../core/validate.js");
    const { originFromRefspec } = await import("../../../sysroot/origin.js");
    const { writeOrigin } = await import("../../../sysroot/edit-deployment.js");
    const { deploymentAt } = await import("../../../sysroot/write-list.js");
    await withSysroot(ctx, async (sysroot) => {
      const [name, url, branch] = args.positional as [string, string, string | undefined];
      const index = args.int("index");
      const d = index === undefined ? sysroot.requireBooted() : deploymentAt(sysroot, index);
      const options: Array<[string, string]> = [];
      for (const kv of args.list("set")) {
        const eq = kv.indexOf("=");
        if (eq < 0) throw new ArborError("USAGE", `Missing '=' in KEY=VALUE pair '${kv}'`);
        options.push([kv.slice(0, eq), kv.slice(eq + 1)]);
      }
      addRemote(sysroot.repo(), { name, url, options, mode: "if-not-exists" });
      const refspec = d.origin?.get("origin", "refspec");
      if (refspec === undefined) throw new ArborError("SYSROOT", "Deployment has no origin refspec");
      const ref = branch ?? parseRefspec(refspec).ref;
      writeOrigin(sysroot, d, originFromRefspec(`${name}:${ref}`));
    });
  },
};
