/**
 * `arbor admin layer list`: the layers the booted (or `--os`) deployment declares, in application
 * order, with their commits and whether the deployed commit was derived from exactly those.
 */
import type { CommandSpec } from "../../../command.js";
import { OPT_OS, withSysroot } from "../common.js";

export const command: CommandSpec = {
  name: "admin layer list",
  summary: "List the declared layers of a deployment",
  usage: "[OPTION…]",
  maxArgs: 0,
  json: true,
  options: [OPT_OS],
  async run(ctx, args) {
    const { readRef } = await import("../../../../repo/refs.js");
    const { derivedInputs, layerRef, readLayerDecl } = await import("../../../../managed/layers.js");
    const { layerMergeDeployment } = await import("../../../../managed/layer-deploy.js");
    await withSysroot(
      ctx,
      async (sysroot) => {
        const d = layerMergeDeployment(sysroot, args.str("os"));
        const repo = sysroot.repo();
        const decl = readLayerDecl(d.origin);
        const recorded = derivedInputs(repo, d.csum);
        const layers = decl.layers.map((name) => {
          const commit = readRef(repo, layerRef(name));
          const deployed = recorded?.layers.find((l) => l.name === name)?.commit ?? null;
          return {
            name,
            commit,
            deployed,
            priority: decl.priority.indexOf(name) >= 0 ? decl.priority.indexOf(name) + 1 : null,
          };
        });
        if (ctx.json) {
          ctx.printJson("LayerList", {
            stateroot: d.osname,
            deployment: `${d.csum}.${d.deployserial}`,
            base: recorded?.base ?? d.csum,
            layers,
          });
          return;
        }
        if (layers.length === 0) {
          ctx.out.write("No layers declared.\n");
          return;
        }
        let text = "";
        for (const l of layers) {
          const state = l.commit === null ? "missing" : l.deployed === l.commit ? "deployed" : "pending";
          text += `${l.name}  ${l.commit ?? "-"}  ${state}${l.priority ? `  priority ${l.priority}` : ""}\n`;
        }
        ctx.out.write(text);
      },
      false,
    );
  },
};
