/**
 * `arbor admin layer add NAME SOURCE`: store a folder, tarball or ref as a declared layer and
 * deploy base ⊕ layers as the new default deployment (docs/managed.md, "Layers").
 */
import type { CommandSpec } from "../../../command.js";
import { messages, OPT_OS, withSysroot } from "../common.js";

/** `--layer-priority=A,B`: who wins conflicts, highest first. */
export const OPT_PRIORITY = {
  long: "layer-priority",
  arg: "NAME[,NAME…]",
  help: "Layers that win conflicting paths, highest first (replaces the declared priority)",
};

/** Split `a,b` into names. */
export function priorityList(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
}

export const command: CommandSpec = {
  name: "admin layer add",
  summary: "Declare a layer (folder, tarball or ref) and deploy base + layers",
  usage: "[OPTION…] NAME SOURCE",
  minArgs: 2,
  maxArgs: 2,
  argsError: "NAME and SOURCE must be specified",
  options: [OPT_OS, OPT_PRIORITY, { long: "replace", help: "Replace the content of a declared layer" }],
  async run(ctx, args) {
    const { resolve } = await import("node:path");
    const { classifyLayerSource, validateLayerName } = await import("../../../../managed/layers.js");
    const { addLayer } = await import("../../../../managed/layer-deploy.js");
    const name = validateLayerName(args.positional[0]!);
    const raw = args.positional[1]!;
    let source = classifyLayerSource(resolve(ctx.cwd, raw));
    if (source.kind === "ref") source = { kind: "ref", rev: raw };
    await withSysroot(ctx, async (sysroot) => {
      const os = args.str("os");
      const prio = priorityList(args.str("layer-priority"));
      const r = await addLayer(sysroot, name, source, {
        ...(os !== undefined ? { osname: os } : {}),
        ...(prio ? { priority: prio } : {}),
        replace: args.has("replace"),
        signal: ctx.signal,
        ...messages(ctx),
      });
      ctx.out.write(
        `Layer ${name}: ${r.commit}\nDeployed ${r.derived.commit} (base ${r.derived.base} + ${r.derived.layers.map((l) => l.name).join(", ")})\n`,
      );
    });
  },
};
