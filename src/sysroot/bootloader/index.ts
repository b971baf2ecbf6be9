/**
 * Boot loader backends: the non-BLS configuration files OSTree keeps in step with the BLS entries
 * (fact sheet §7.4). The `sysroot.bootloader` key of the repo config picks one: `auto` (default:
 * probe syslinux, grub2 BIOS then EFI, U-Boot in that order), `none`, `syslinux`, `uboot`,
 * `grub2` (BIOS layout, as ostree when named explicitly); `zipl` (s390x) is accepted but refused.
 * Each backend writes its file before the swap: into `boot/loader.N/`, so it flips together with
 * the entries, except EFI GRUB, whose config on the ESP is replaced in place (see grub2.ts).
 */
import { ArborError } from "../../errors.js";
import type { Deployment } from "../deployment.js";
import type { Sysroot } from "../sysroot.js";
import { grub2Bootloader, grub2EfiBootloader, grub2EfiConfig, grub2IsActive } from "./grub2.js";
import { syslinuxBootloader, syslinuxIsActive } from "./syslinux.js";
import { ubootBootloader, ubootIsActive } from "./uboot.js";

/** A backend. */
export interface Bootloader {
  /** Name as ostree logs it (`syslinux`, `U-Boot`, `grub2`). */
  readonly name: string;
  /** True if the config swap is atomic with the entries (it lives in `loader.N/`). */
  readonly atomic: boolean;
  /**
   * Write the configuration for `bootversion` from the entries already in `boot/loader.N/entries`.
   * @throws ArborError SYSROOT, IO
   */
  writeConfig(sysroot: Sysroot, bootversion: number, deployments: Deployment[]): void;
}

/** The values `sysroot.bootloader` accepts, in ostree's order. */
export const BOOTLOADER_CONFIG_VALUES = ["auto", "none", "grub2", "syslinux", "uboot", "zipl"] as const;

/**
 * The backend to use for `sysroot`, per `sysroot.bootloader` (null: none).
 * @throws ArborError BAD_CONFIG "Invalid bootloader configuration: 'x'", UNSUPPORTED for zipl.
 */
export function queryBootloader(sysroot: Sysroot): Bootloader | null {
  const value = sysroot.repo().config.get("sysroot", "bootloader") ?? "auto";
  switch (value) {
    case "none":
      return null;
    case "syslinux":
      return syslinuxBootloader;
    case "uboot":
      return ubootBootloader;
    case "grub2":
      return grub2Bootloader;
    case "zipl":
      throw new ArborError("UNSUPPORTED", "Cannot use bootloader 'zipl': not supported by arbor");
    case "auto":
      if (syslinuxIsActive(sysroot)) return syslinuxBootloader;
      if (grub2IsActive(sysroot)) return grub2Bootloader;
      {
        const efi = grub2EfiConfig(sysroot);
        if (efi) return grub2EfiBootloader(efi);
      }
      if (ubootIsActive(sysroot)) return ubootBootloader;
      return null;
    default:
      throw new ArborError("BAD_CONFIG", `Invalid bootloader configuration: '${value}'`);
  }
}

/**
 * Join config lines as ostree does: an empty first line is dropped, and only the first empty line
 * after that is kept (ostree never resets its "previous line was empty" flag).
 */
export function joinLines(lines: readonly string[]): string {
  let out = "";
  let prevEmpty = false;
  lines.forEach((line, i) => {
    if (line === "") {
      if (prevEmpty || i === 0) return;
      prevEmpty = true;
    }
    out += `${line}\n`;
  });
  return out;
}
