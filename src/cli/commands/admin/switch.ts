/**
 * `arbor admin switch REFSPEC`: change the origin to another branch/remote and deploy it (as
 * ostree). Declared layers (the origin's `[arbor]` group) are kept: the new deployment is derived
 * afresh from the new base and the same layers (docs/managed.md, "Layers").
 */
import type { CommandSpec } from "../../command.js";
import { messages, OPT_OS, withSysroot } from "./common.js";

export const command: CommandSpec = {
  name: "admin switch",
  summary: "Construct new tree from REFSPEC and deploy it",
  usage: "[OPTION…] REFSPEC",
  minArgs: 1,
  argsError: "REFSPEC must be specified",
  options: [{ long: "reboot", short: "r", help: "Reboot after switching trees" }, OPT_OS],
  async run(ctx, args) {
    const { ArborError } = await import("../../../errors.js");
    const { parseRefspec } = await import("../../../core/validate.js");
    const { Upgrader } = await import("../../../sysroot/upgrade.js");
    const { originFromRefspec } = await import("../../../sysroot/origin.js");
    const { setRefImmediate } = await import("../../../repo/ref-immediate.js");
    const { cliPuller } = await import("./puller.js");
    const { deriveHook } = await import("../../../managed/derive.js");
    const { readLayerDecl, writeLayerDecl } = await import("../../../managed/layers.js");
    await withSysroot(ctx, async (sysroot) => {
      if (args.has("reboot") && !sysroot.booted) {
        throw new ArborError("SYSROOT", "Cannot reboot: not running in the booted system of this sysroot");
      }
      const osname = args.str("os");
      const up = Upgrader.create(sysroot, {
        ignoreUnconfigured: true,
        derive: deriveHook,
        ...(osname !== undefined ? { osname } : {}),
      });
      const oldRefspec = up.origin.get("origin", "refspec")!;
      const old = parseRefspec(oldRefspec);
      const given = args.positional[0]!;
      let newRemote: string | null;
      let newRef: string;
      if (given.endsWith(":")) {
        newRemote = given.slice(0, -1);
        newRef = old.ref;
      } else {
        const p = parseRefspec(given);
        newRemote = p.remote;
        newRef = p.ref;
      }
      const remote = newRemote ?? old.remote;
      const refspec = remote ? `${remote}:${newRef}` : newRef;
      if (refspec === oldRefspec) throw new ArborError("USAGE", `Old and new refs are equal: ${refspec}`);
      const origin = originFromRefspec(refspec);
      const layers = readLayerDecl(up.origin);
      if (layers.layers.length) writeLayerDecl(origin, layers);
      up.setOrigin(origin);
      await up.pull({ allowOlder: true, puller: await cliPuller(), signal: ctx.signal });
      await up.deploy(messages(ctx));
      ctx.out.write(`Deleting ref '${old.remote}:${old.ref}'\n`);
      await setRefImmediate(sysroot.repo(), old.ref, null, old.remote);
      if (args.has("reboot")) {
        const { spawnSync } = await import("node:child_process");
        spawnSync("systemctl", ["reboot"], { stdio: "inherit" });
      }
    });
  },
};
