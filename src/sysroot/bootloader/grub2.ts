/**
 * GRUB 2. Active (under `sysroot.bootloader=auto`) when a BIOS config `boot/grub/grub.cfg` or
 * `boot/grub2/grub.cfg` exists, else when an EFI one `boot/efi/EFI/VENDOR/grub.cfg` does (any
 * vendor directory but `BOOT`, as ostree). The configuration is produced by an external generator,
 * as ostree does: `$OSTREE_GRUB2_EXEC` (e.g. ostree's `ostree-grub-generator`) or
 * `grub2-mkconfig`, run as `GEN -o FILE` with `_OSTREE_GRUB2_BOOTVERSION=N` (and
 * `_OSTREE_GRUB2_IS_EFI=1` for EFI) in its environment.
 *
 * - BIOS: FILE is `boot/loader.N/grub.cfg`, which flips with the entries (atomic).
 * - EFI: the ESP is FAT, which has no atomic rename over a file. As ostree: FILE is
 *   `VENDOR/grub.cfg.new`, the current config is copied to `grub.cfg.old`, then `grub.cfg` is
 *   replaced (unlink + rename). Not atomic, so the swap reports "Bootloader updated".
 *
 * Unlike ostree, arbor does not chroot into the new deployment to run a system `grub2-mkconfig`.
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  fdatasyncSync,
  lstatSync,
  openSync,
  readdirSync,
  renameSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { ArborError, fromSystemError } from "../../errors.js";
import { unlinkIfExistsSync } from "../../io/fs.js";
import { exists } from "../install-kernel.js";
import type { Sysroot } from "../sysroot.js";
import type { Bootloader } from "./index.js";

/** True if a BIOS GRUB config exists. */
export function grub2IsActive(sysroot: Sysroot): boolean {
  return ["boot/grub/grub.cfg", "boot/grub2/grub.cfg"].some((rel) => exists(sysroot.abs(rel)));
}

/**
 * The EFI GRUB config ostree would manage: the first `boot/efi/EFI/DIR/grub.cfg` (DIR a real
 * directory, not `BOOT`; by name, where ostree takes
 * readdir order: they differ only with several vendor directories holding a grub.cfg), or null.
 */
export function grub2EfiConfig(sysroot: Sysroot): string | null {
  const base = sysroot.abs("boot/efi/EFI");
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return null;
  }
  for (const name of names) {
    if (name === "BOOT") continue;
    try {
      if (!lstatSync(join(base, name)).isDirectory()) continue; // symlinks excluded, as ostree
    } catch {
      continue;
    }
    const cfg = join(base, name, "grub.cfg");
    if (exists(cfg)) return cfg;
  }
  return null;
}

/** Run the generator into `out`, then fdatasync `out`. @throws ArborError SYSROOT, IO */
function generate(sysroot: Sysroot, bootversion: number, out: string, efi: boolean): void {
  const exec = sysroot.env.OSTREE_GRUB2_EXEC || "grub2-mkconfig";
  const debug = !!sysroot.env.OSTREE_DEBUG_GRUB2;
  const env: Record<string, string | undefined> = {
    ...sysroot.env,
    _OSTREE_GRUB2_BOOTVERSION: String(bootversion),
  };
  if (efi) env._OSTREE_GRUB2_IS_EFI = "1";
  const r = spawnSync(exec, ["-o", out], {
    env,
    stdio: ["ignore", debug ? "inherit" : "ignore", debug ? "inherit" : "ignore"],
  });
  if (r.error) throw new ArborError("SYSROOT", `${exec}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) {
    throw new ArborError("SYSROOT", `${exec}: Child process exited with code ${r.status ?? r.signal}`);
  }
  let fd: number;
  try {
    fd = openSync(out, "r");
  } catch (e) {
    throw fromSystemError(`Cannot open "${out}" written by ${exec}`, e);
  }
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The GRUB 2 backend, BIOS layout. */
export const grub2Bootloader: Bootloader = {
  name: "grub2",
  atomic: true,
  writeConfig(sysroot, bootversion) {
    generate(sysroot, bootversion, sysroot.abs(`boot/loader.${bootversion}/grub.cfg`), false);
  },
};

/** The GRUB 2 backend, EFI layout, managing `config` (from {@link grub2EfiConfig}). */
export function grub2EfiBootloader(config: string): Bootloader {
  return {
    name: "grub2",
    atomic: false,
    writeConfig(sysroot, bootversion) {
      const dir = dirname(config);
      const fresh = join(dir, "grub.cfg.new");
      unlinkIfExistsSync(fresh);
      generate(sysroot, bootversion, fresh, true);
      const old = join(dir, "grub.cfg.old");
      try {
        unlinkIfExistsSync(old);
        copyFileSync(config, old);
        // FAT has no atomic replace: ostree unlinks, then renames (a crash here leaves .new/.old).
        unlinkIfExistsSync(config);
        renameSync(fresh, config);
      } catch (e) {
        if (e instanceof ArborError) throw e;
        throw fromSystemError(`Cannot replace "${config}"`, e);
      }
    },
  };
}
