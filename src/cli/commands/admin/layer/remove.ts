/** `arbor admin layer remove NAME`: stop declaring a layer and deploy base ⊕ the remaining layers. */
import type { CommandSpec } from "../../../command.js";
import { messages, OPT_OS, withSysroot } from "../common.js";

export const command: CommandSpec = {
  name: "admin layer remove",
  summary: "Remove a declared layer and deploy base + the remaining layers",
  usage: "[OPTION…] NAME",
  minArgs: 1,
  maxArgs: 1,
  argsError: "NAME must be specified",
  options: [OPT_OS],
  async run(ctx, args) {
    const { removeLayer } = await import("../../../../managed/layer-deploy.js");
    await withSysroot(ctx, async (sysroot) => {
      const os = args.str("os");
      const r = await removeLayer(sysroot, args.positional[0]!, {
        ...(os !== undefined ? { osname: os } : {}),
        ...messages(ctx),
      });
      const rest = r.derived.layers.map((l) => l.name);
      ctx.out.write(
        `Deployed ${r.derived.commit} (base ${r.derived.base}${rest.length ? ` + ${rest.join(", ")}` : ""})\n`,
      );
    });
  },
};
