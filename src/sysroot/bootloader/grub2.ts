/**
 * GRUB 2 (BIOS layout only): active when `boot/grub/grub.cfg` or `boot/grub2/grub.cfg` exists.
 * The configuration is produced by an external generator, as ostree does: `$OSTREE_GRUB2_EXEC`
 * (e.g. ostree's `ostree-grub-generator`) or `grub2-mkconfig`, run as `GEN -o
 * boot/loader.N/grub.cfg` with `_OSTREE_GRUB2_BOOTVERSION=N` in its environment. Unlike ostree,
 * arbor does not chroot into the new deployment to run a system `grub2-mkconfig`; the EFI layout
 * (`boot/efi/EFI/*​/grub.cfg`, rewritten non-atomically by ostree) is not handled.
 */
import { spawnSync } from "node:child_process";
import { closeSync, fdatasyncSync, openSync, statSync } from "node:fs";
import { ArborError } from "../../errors.js";
import type { Sysroot } from "../sysroot.js";
import type { Bootloader } from "./index.js";

/** True if a BIOS GRUB config exists. */
export function grub2IsActive(sysroot: Sysroot): boolean {
  for (const rel of ["boot/grub/grub.cfg", "boot/grub2/grub.cfg"]) {
    try {
      statSync(sysroot.abs(rel));
      return true;
    } catch {}
  }
  return false;
}

/** The GRUB 2 backend. */
export const grub2Bootloader: Bootloader = {
  name: "grub2",
  atomic: true,
  writeConfig(sysroot, bootversion) {
    const exec = sysroot.env.OSTREE_GRUB2_EXEC || "grub2-mkconfig";
    const out = sysroot.abs(`boot/loader.${bootversion}/grub.cfg`);
    const debug = !!sysroot.env.OSTREE_DEBUG_GRUB2;
    const r = spawnSync(exec, ["-o", out], {
      env: { ...sysroot.env, _OSTREE_GRUB2_BOOTVERSION: String(bootversion) },
      stdio: ["ignore", debug ? "inherit" : "ignore", debug ? "inherit" : "ignore"],
    });
    if (r.error) throw new ArborError("SYSROOT", `${exec}: ${r.error.message}`, { cause: r.error });
    if (r.status !== 0) {
      throw new ArborError("SYSROOT", `${exec}: Child process exited with code ${r.status ?? r.signal}`);
    }
    const fd = openSync(out, "r");
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};
