/** The `capture` form of `admin drift`: `admin drift capture --layer NAME [PATH…]`. */
import type { ParsedArgs } from "../../../command.js";
import type { Context } from "../../../context.js";
import { messages, withSysroot } from "../common.js";

/** Capture drift into a layer and deploy; returns the exit code. */
export async function runCapture(ctx: Context, args: ParsedArgs, paths: string[]): Promise<number> {
  const { ArborError } = await import("../../../../errors.js");
  const name = args.str("layer");
  if (name === undefined) throw new ArborError("USAGE", "capture needs --layer=NAME");
  const { captureDrift } = await import("../../../../managed/capture.js");
  return withSysroot(ctx, async (sysroot) => {
    const os = args.str("os");
    const r = await captureDrift(sysroot, name, {
      ...(os !== undefined ? { osname: os } : {}),
      ...(paths.length ? { paths } : {}),
      signal: ctx.signal,
      ...messages(ctx),
    });
    if (ctx.json) {
      ctx.printJson("DriftCapture", r);
      return 0;
    }
    let s = `Captured ${r.captured.length} path(s) into layer ${r.layer} (${r.commit}):\n`;
    for (const i of r.captured)
      s += `  ${i.change === "removed" ? "D" : i.change === "added" ? "A" : "M"} ${i.path}\n`;
    s += `Deployed ${r.deployment}\n`;
    ctx.out.write(s);
    return 0;
  });
}
