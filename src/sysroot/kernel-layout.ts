/**
 * Where a deployment's kernel, initramfs and devicetree are, and the "bootcsum" that names them
 * (fact sheet §7.2).
 *
 * 1. `usr/lib/modules/KVER/vmlinuz` — the first KVER directory (readdir order) holding a regular
 *    `vmlinuz`; initramfs `initramfs.img` or `initramfs`; `devicetree` file or else a `dtb/` dir;
 *    `.vmlinuz.hmac`. bootcsum = SHA-256 of kernel ‖ initramfs ‖ devicetree (a dtb dir contributes
 *    its files, names sorted byte-wise, recursively). Installed as `vmlinuz-KVER`,
 *    `initramfs-KVER.img`, `devicetree-KVER`, `.vmlinuz-KVER.hmac`.
 * 2. Legacy: `usr/lib/ostree-boot/` if it exists, else `boot/`: `vmlinuz-*-SHA256` (+ initramfs,
 *    devicetree with the same suffix); bootcsum = that suffix, installed names drop it.
 * The legacy layout wins only when the modules layout has no initramfs and the legacy one has.
 */
import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { isChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";

/** A kernel set found in a deployment. Paths are relative to {@link KernelLayout.bootDir}. */
export interface KernelLayout {
  /** Absolute path of the directory holding the files. */
  bootDir: string;
  kernelSrc: string;
  kernelNamever: string;
  initramfsSrc?: string;
  initramfsNamever?: string;
  devicetreeSrc?: string;
  /** Undefined with a devicetree source: a whole `dtb/` directory (BLS `fdtdir`). */
  devicetreeNamever?: string;
  hmacSrc?: string;
  hmacNamever?: string;
  bootcsum: string;
}

function statMaybe(p: string, follow = true): import("node:fs").Stats | null {
  try {
    return follow ? statSync(p) : lstatSync(p);
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOENT" || c === "ENOTDIR") return null;
    throw fromSystemError(`Cannot stat "${p}"`, e);
  }
}

const BUF = Buffer.allocUnsafe(1 << 20);

function hashFile(h: ReturnType<typeof createHash>, p: string): void {
  const fd = openSync(p, "r");
  try {
    for (;;) {
      const n = readSync(fd, BUF, 0, BUF.length, null);
      if (n === 0) break;
      h.update(BUF.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

function hashDir(h: ReturnType<typeof createHash>, dir: string): void {
  const names = readdirSync(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  for (const n of names) {
    const p = join(dir, n);
    const st = lstatSync(p);
    if (st.isDirectory()) hashDir(h, p);
    else if (statMaybe(p)) hashFile(h, p);
  }
}

/** A hash sink that does nothing: names only, when the bootcsum is already known. */
const NO_HASH = { update: () => NO_HASH, digest: () => "" } as unknown as ReturnType<typeof createHash>;

function fromModules(root: string, noDtb: boolean, hash: boolean): KernelLayout | null {
  const modules = join(root, "usr/lib/modules");
  let names: import("node:fs").Dirent[];
  try {
    names = readdirSync(modules, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return null;
    throw fromSystemError(`Cannot read "${modules}"`, e);
  }
  let kver: string | undefined;
  for (const ent of names) {
    if (!ent.isDirectory()) continue;
    if (statMaybe(join(modules, ent.name, "vmlinuz"))?.isFile()) {
      kver = ent.name;
      break;
    }
  }
  if (kver === undefined) return null;
  const bootDir = join(modules, kver);
  const h = hash ? createHash("sha256") : NO_HASH;
  if (hash) hashFile(h, join(bootDir, "vmlinuz"));
  const layout: KernelLayout = {
    bootDir,
    kernelSrc: "vmlinuz",
    kernelNamever: `vmlinuz-${kver}`,
    bootcsum: "",
  };
  for (const name of ["initramfs.img", "initramfs"]) {
    if (statMaybe(join(bootDir, name))) {
      layout.initramfsSrc = name;
      layout.initramfsNamever = `initramfs-${kver}.img`;
      if (hash) hashFile(h, join(bootDir, name));
      break;
    }
  }
  if (!noDtb) {
    if (statMaybe(join(bootDir, "devicetree"))) {
      layout.devicetreeSrc = "devicetree";
      layout.devicetreeNamever = `devicetree-${kver}`;
      if (hash) hashFile(h, join(bootDir, "devicetree"));
    } else if (statMaybe(join(bootDir, "dtb"))?.isDirectory()) {
      layout.devicetreeSrc = "dtb";
      if (hash) hashDir(h, join(bootDir, "dtb"));
    }
  }
  if (statMaybe(join(bootDir, ".vmlinuz.hmac"))) {
    layout.hmacSrc = ".vmlinuz.hmac";
    layout.hmacNamever = `.${layout.kernelNamever}.hmac`;
  }
  layout.bootcsum = h.digest("hex");
  return layout;
}

function fromLegacy(root: string): KernelLayout | null {
  let bootDir: string | undefined;
  for (const rel of ["usr/lib/ostree-boot", "boot"]) {
    const st = statMaybe(join(root, rel));
    if (st?.isDirectory()) {
      bootDir = join(root, rel);
      break;
    }
  }
  if (bootDir === undefined) return null;
  const found: Record<
    "vmlinuz" | "initramfs" | "devicetree",
    { src: string; namever: string; sum: string } | undefined
  > = {
    vmlinuz: undefined,
    initramfs: undefined,
    devicetree: undefined,
  };
  for (const name of readdirSync(bootDir)) {
    for (const kind of ["vmlinuz", "initramfs", "devicetree"] as const) {
      if (found[kind] || !name.startsWith(`${kind}-`)) continue;
      const dash = name.lastIndexOf("-");
      const sum = name.slice(dash + 1);
      if (isChecksum(sum)) found[kind] = { src: name, namever: name.slice(0, dash), sum };
      break;
    }
    if (found.vmlinuz && found.initramfs && found.devicetree) break;
  }
  const k = found.vmlinuz;
  if (!k) return null;
  if (found.initramfs && found.initramfs.sum !== k.sum) {
    throw new ArborError("SYSROOT", "Mismatched kernel checksum vs initrd");
  }
  if (found.devicetree && found.devicetree.sum !== k.sum) {
    throw new ArborError("SYSROOT", "Mismatched kernel checksum vs device tree in tree");
  }
  return {
    bootDir,
    kernelSrc: k.src,
    kernelNamever: k.namever,
    ...(found.initramfs
      ? { initramfsSrc: found.initramfs.src, initramfsNamever: found.initramfs.namever }
      : {}),
    ...(found.devicetree
      ? { devicetreeSrc: found.devicetree.src, devicetreeNamever: found.devicetree.namever }
      : {}),
    bootcsum: k.sum,
  };
}

/**
 * Find the kernel set of the deployment rooted at `root`. With `hash: false` the (modules-layout)
 * bootcsum is left empty: callers that already know it (installing a deployment's kernel) skip
 * reading tens of megabytes of kernel and initramfs.
 * @throws ArborError NOT_FOUND "Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or
 *   /boot", SYSROOT for mismatched legacy checksums, IO.
 */
export function findKernelLayout(root: string, o: { noDtb?: boolean; hash?: boolean } = {}): KernelLayout {
  const modules = fromModules(root, o.noDtb === true, o.hash !== false);
  const legacy = fromLegacy(root);
  if (!legacy) {
    if (!modules) {
      throw new ArborError(
        "NOT_FOUND",
        "Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or /boot",
      );
    }
    return modules;
  }
  if (modules && modules.initramfsSrc === undefined && legacy.initramfsSrc !== undefined) return legacy;
  return modules ?? legacy;
}
