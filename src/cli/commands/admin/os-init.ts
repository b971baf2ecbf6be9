/** `arbor admin os-init OSNAME`: create a stateroot with its shared /var (as `ostree admin os-init`). */
import type { CommandSpec } from "../../command.js";

/** Shared by `os-init` and its newer name `stateroot-init`. */
export function osInitCommand(name: string, summary: string, metavar: string): CommandSpec {
  return {
    name,
    summary,
    usage: `[OPTION…] ${metavar}`,
    minArgs: 1,
    argsError: `${metavar} must be specified`,
    options: [],
    async run(ctx, args) {
      const { ensureSysrootInitialized, initOsname } = await import("../../../sysroot/init.js");
      const path = ctx.sysrootPath();
      const { statSync } = await import("node:fs");
      const { fromSystemError } = await import("../../../errors.js");
      try {
        statSync(path);
      } catch (e) {
        throw fromSystemError(`opendir(${path})`, e);
      }
      ensureSysrootInitialized(path);
      const osname = args.positional[0]!;
      initOsname(path, osname);
      ctx.out.write(`ostree/deploy/${osname} initialized as OSTree root\n`);
    },
  };
}

export const command: CommandSpec = osInitCommand(
  "admin os-init",
  "Initialize empty state for given operating system",
  "OSNAME",
);
