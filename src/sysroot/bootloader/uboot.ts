/**
 * U-Boot: `boot/loader/uEnv.txt`. Active when that file exists. The new `boot/loader.N/uEnv.txt`
 * is generated from the BLS entries: for entry i (suffix "" for the first, else i+1)
 * `kernel_image`, `ramdisk_image`, `fdt_file`, `fdtdir` (paths prefixed by `/boot`) and `bootargs`;
 * after the first entry's `bootargs`, the deployment's own `usr/lib/ostree-boot/uEnv.txt` if any.
 */
import { lstatSync, readFileSync } from "node:fs";
import { ArborError, errnoCode, fromSystemError } from "../../errors.js";
import { writeFileAtomicSync } from "../../io/atomic-write.js";
import { KernelArgs } from "../kargs.js";
import type { Sysroot } from "../sysroot.js";
import { type Bootloader, joinLines } from "./index.js";

const CONFIG = "boot/loader/uEnv.txt";

/** True if `boot/loader/uEnv.txt` exists (not following a final symlink). */
export function ubootIsActive(sysroot: Sysroot): boolean {
  try {
    lstatSync(sysroot.abs(CONFIG));
    return true;
  } catch {
    return false;
  }
}

function systemUenv(sysroot: Sysroot, bootargs: string): string | null {
  const ostreeArg = KernelArgs.parse(bootargs).lastValue("ostree");
  if (!ostreeArg) {
    throw new ArborError("SYSROOT", "No ostree= kernel argument found in boot loader configuration file");
  }
  const rel = `${ostreeArg.slice(1)}/usr/lib/ostree-boot/uEnv.txt`;
  try {
    return readFileSync(sysroot.abs(rel), "utf8");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return null;
    throw fromSystemError(`Reading ${rel}`, e);
  }
}

/** The U-Boot backend. */
export const ubootBootloader: Bootloader = {
  name: "U-Boot",
  atomic: true,
  writeConfig(sysroot, bootversion) {
    try {
      readFileSync(sysroot.abs(CONFIG), "utf8");
    } catch (e) {
      throw fromSystemError(`Cannot read "${CONFIG}"`, e);
    }
    const out: string[] = [];
    sysroot.readBootConfigs(bootversion).forEach((config, i) => {
      const sfx = i === 0 ? "" : String(i + 1);
      const linux = config.get("linux");
      if (linux === undefined) throw new ArborError("SYSROOT", 'No "linux" key in bootloader config');
      out.push(`kernel_image${sfx}=/boot${linux}`);
      const initrd = config.get("initrd");
      if (initrd !== undefined) out.push(`ramdisk_image${sfx}=/boot${initrd}`);
      const dt = config.get("devicetree");
      if (dt !== undefined) out.push(`fdt_file${sfx}=/boot${dt}`);
      const fdtdir = config.get("fdtdir");
      if (fdtdir !== undefined) out.push(`fdtdir${sfx}=/boot${fdtdir}`);
      const options = config.get("options");
      if (options !== undefined) {
        out.push(`bootargs${sfx}=${options}`);
        if (i === 0) {
          const extra = systemUenv(sysroot, options);
          if (extra !== null) out.push(extra);
        }
      }
    });
    writeFileAtomicSync(sysroot.abs(`boot/loader.${bootversion}/uEnv.txt`), joinLines(out), {
      mode: 0o644,
      fsync: false,
    });
  },
};
