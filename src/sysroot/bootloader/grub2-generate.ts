/**
 * `admin instutil grub2-generate`: the GRUB menu entries for the BLS entries of `loader.N`, which
 * GRUB's `15_ostree` script (run by `grub2-mkconfig`, itself run by the GRUB 2 backend) prints
 * into grub.cfg. The script passes what only GRUB's tools know in the environment:
 * `GRUB2_BOOT_DEVICE_ID` (used in entry ids) and `GRUB2_PREPARE_ROOT_CACHE` (commands that find
 * the boot partition). Output as ostree 2022.7 (Debian build: `linux`/`initrd`, no `16`/`efi` suffix).
 */
import { ArborError } from "../../errors.js";
import type { Sysroot } from "../sysroot.js";

/** Quote `s` for a shell (and GRUB's parser) as GLib's g_shell_quote does. */
export function shellQuote(s: string): string {
  return `'${s.replaceAll("'", "'\\''")}'`;
}

/**
 * The menu entries for `loader.BOOTVERSION`, in entry order.
 * @throws ArborError USAGE when the two environment variables are missing (not run by 15_ostree);
 *   SYSROOT 'No "linux" key in bootloader config'.
 */
export function grub2MenuEntries(
  sysroot: Sysroot,
  bootversion: number,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const deviceId = env.GRUB2_BOOT_DEVICE_ID;
  const prepareRoot = env.GRUB2_PREPARE_ROOT_CACHE;
  if (deviceId === undefined || prepareRoot === undefined) {
    throw new ArborError(
      "USAGE",
      "Cannot generate GRUB entries: GRUB2_BOOT_DEVICE_ID and GRUB2_PREPARE_ROOT_CACHE must be set (this runs from grub2-mkconfig's 15_ostree script)",
    );
  }
  let out = "";
  sysroot.readBootConfigs(bootversion).forEach((config, i) => {
    const title = config.get("title") ?? "(Untitled)";
    out += `menuentry ${shellQuote(title)} --class gnu-linux --class gnu --class os --unrestricted ${shellQuote(`ostree-${i}-${deviceId}`)} {\n`;
    out += `load_video\nset gfxpayload=keep\ninsmod gzio\n${prepareRoot}\n`;
    const linux = config.get("linux");
    if (linux === undefined) throw new ArborError("SYSROOT", 'No "linux" key in bootloader config');
    const options = config.get("options");
    out += `linux ${linux}${options !== undefined ? ` ${options}` : ""}\n`;
    const initrd = config.get("initrd");
    if (initrd !== undefined) out += `initrd ${initrd}\n`;
    const dt = config.get("devicetree");
    if (dt !== undefined) out += `devicetree ${dt}\n`;
    out += "}\n";
  });
  return out;
}
