/**
 * Writing a new deployment list: the boot switch (fact sheet §7.4).
 *
 * Why it is safe to kill this at any instruction
 * ----------------------------------------------
 * What the machine boots is decided by exactly one name: the symlink `boot/loader` → `loader.BV`.
 * The boot loader reads `boot/loader/entries/*.conf`; each entry names a kernel in
 * `boot/ostree/OS-BOOTCSUM/` and, through `ostree=/ostree/boot.BV/OS/BOOTCSUM/SERIAL`, a bootlink
 * that `ostree-prepare-root` follows to the deployment directory. So a complete, consistent boot
 * state is "the entry set `loader.BV` plus everything it references", and we change it like this:
 *
 * 1. Everything new is written *beside* the live state, never over it: the new deployment was
 *    checked out under a fresh `CSUM.SERIAL` name; kernels are added to `boot/ostree/…` only if
 *    missing (files there are never rewritten); entries go to `loader.(1−BV)/entries`, which the
 *    live `loader` does not point to (we delete whatever an interrupted run left there first);
 *    bootlinks go to `ostree/boot.(1−BV).S` and the `ostree/boot.(1−BV)` symlink, which no live
 *    entry names (live entries say `boot.BV`).
 * 2. `boot/loader.tmp` → `loader.(1−BV)` is created, then the filesystems holding the sysroot and
 *    /boot are flushed with syncfs(2). Only after this point is the new state entirely on disk.
 *    Without the flush, a power cut shortly after the rename could leave `loader` pointing at
 *    entries, kernels or deployment files whose data never reached the disk (ext4 delayed
 *    allocation, XFS). As ostree does, /boot is then frozen and thawed (FIFREEZE/FITHAW), which
 *    checkpoints its journal: GRUB does not replay an XFS journal, so data only in the journal
 *    would be invisible to it. A watchdog process thaws /boot if arbor dies in between. Where
 *    /boot is neither a mount point of its own nor the sysroot `/` (a sysroot folder on a shared
 *    filesystem, as in tests), freezing would stall the whole host filesystem for nothing: there
 *    syncfs is used instead.
 * 3. `rename(boot/loader.tmp, boot/loader)` — the single atomic commit point. Before it the old
 *    set is live and untouched; after it the new set is live and complete. There is no moment
 *    where `loader` names a mix. The directory is then fsynced so the rename itself is durable.
 * 4. Only now is old state deleted (cleanup.ts): the old `loader.BV`, bootlink farms, deployment
 *    directories and kernels nothing references any more. Cleanup is idempotent, so a kill there
 *    leaves garbage that the next command removes, never a broken entry.
 *
 * When the boot entries would not change at all (same count, same kernels, kernel arguments and
 * versions — e.g. redeploying the same commit), only the bootlinks move: a new
 * `ostree/boot.BV.(1−SUB)` farm is written and synced, and the rename of the `ostree/boot.BV`
 * symlink is the commit point. Entries keep naming `boot.BV`, so they stay valid throughout.
 */
import {
  closeSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { faultPoint, fsyncPathSync } from "../io/fs.js";
import { native } from "../io/native.js";
import { type Bootloader, queryBootloader } from "./bootloader/index.js";
import type { Deployment } from "./deployment.js";
import { blsAppendValues, commitVersion, installDeploymentKernel } from "./install-kernel.js";
import { KernelArgs } from "./kargs.js";
import type { Sysroot } from "./sysroot.js";

/** Options for {@link writeDeployments}. */
export interface WriteDeploymentsOptions {
  /** Run cleanup (and repo prune) afterwards (default true). */
  postclean?: boolean;
  /** Progress lines ostree prints ("Bootloader updated; bootconfig swap: yes; …"). */
  onMessage?: (line: string) => void;
}

/** Replace `newpath` with a symlink to `target`, atomically (temp link + rename). */
function symlinkReplace(target: string, newpath: string): void {
  const tmp = `${newpath}.tmp`;
  try {
    unlinkSync(tmp);
  } catch {}
  try {
    symlinkSync(target, tmp);
    renameSync(tmp, newpath);
  } catch (e) {
    throw fromSystemError(`Cannot point "${newpath}" at "${target}"`, e);
  }
}

/**
 * Flush the sysroot's filesystem (and /boot's, when separate) so everything written so far is
 * durable before the commit-point rename. See the module comment.
 * @throws ArborError IO; SYSROOT for the `test-fifreeze` debug hook (ostree's test contract).
 */
export function fullSystemSync(sysroot: Sysroot, onStderr?: (s: string) => void): void {
  // Test-only escape hatch: kill -9 tests exercise ordering and atomicity, which do not depend on
  // flushing (the page cache survives a killed process); skipping it keeps them fast.
  if (sysroot.env.ARBOR_UNSAFE_NO_SYNC === "1" && !sysroot.debug.testFifreeze) return;
  try {
    syncfsPath(sysroot.path);
    if (sysroot.debug.testFifreeze) {
      onStderr?.("fifreeze watchdog was run\n");
      throw new ArborError("SYSROOT", "During fsfreeze-thaw: aborting due to test-fifreeze");
    }
    const boot = sysroot.abs("boot");
    if (shouldFreezeBoot(sysroot.path, boot)) freezeThawPath(boot);
    else syncfsPath(boot);
  } catch (e) {
    throw withContext("Full sync", e);
  }
}

// --- FIFREEZE of /boot (kept apart: the rest of this file is the swap itself) ---

/**
 * Whether the boot switch freezes /boot: when the sysroot is `/` (a real machine), or /boot is a
 * filesystem of its own (a mount point). Exported for tests.
 */
export function shouldFreezeBoot(sysrootPath: string, bootPath: string): boolean {
  if (resolve(sysrootPath) === "/") return true;
  try {
    return statSync(bootPath).dev !== statSync(resolve(bootPath, "..")).dev;
  } catch {
    return false;
  }
}

function freezeThawPath(p: string): void {
  onFilesystemOf(p, `During fsfreeze-thaw of "${p}"`, (fd) => native().freezeThaw(fd));
}
// --- end FIFREEZE ---

function syncfsPath(p: string): void {
  onFilesystemOf(p, `syncfs(${p})`, (fd) => native().syncfs(fd));
}

/** Run `op` on an fd of directory `p`, its failure reported as `what`; the fd is always closed. */
function onFilesystemOf(p: string, what: string, op: (fd: number) => void): void {
  const fd = openSync(p, "r");
  try {
    op(fd);
  } catch (e) {
    throw fromSystemError(what, e);
  } finally {
    closeSync(fd);
  }
}

/** Assign bootserials: 0, 1, 2… per bootcsum in list order. */
function assignBootserials(list: Deployment[]): void {
  const seen = new Map<string, number>();
  for (const d of list) {
    const n = seen.get(d.bootcsum) ?? 0;
    seen.set(d.bootcsum, n + 1);
    d.bootserial = n;
  }
}

function nonOstreeKargs(d: Deployment): string {
  const k = KernelArgs.parse(d.bootconfig?.get("options"));
  k.replace("ostree");
  return k.toString();
}

function bootconfigsEqual(sysroot: Sysroot, a: Deployment, b: Deployment): boolean {
  if (a.bootcsum !== b.bootcsum) return false;
  if (a.overlayInitrds.join(",") !== b.overlayInitrds.join(",")) return false;
  if (nonOstreeKargs(a) !== nonOstreeKargs(b)) return false;
  return commitVersion(sysroot, a.csum) === commitVersion(sysroot, b.csum);
}

/** Write `ostree/boot.BV.(1−SUB)/OS/BOOTCSUM/SERIAL` → deployment links; returns its name. */
function createNewBootlinks(sysroot: Sysroot, bootversion: number, list: Deployment[]): string {
  const oldSub =
    bootversion === sysroot.bootversion ? sysroot.subbootversion : sysroot.readSubbootversion(bootversion);
  const name = `boot.${bootversion}.${oldSub === 0 ? 1 : 0}`;
  const dir = sysroot.abs(`ostree/${name}`);
  rmrfSync(dir);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const d of list) {
    const parent = join(dir, d.osname, d.bootcsum);
    mkdirSync(parent, { recursive: true, mode: 0o755 });
    symlinkReplace(
      `../../../deploy/${d.osname}/deploy/${d.csum}.${d.deployserial}`,
      join(parent, String(d.bootserial)),
    );
  }
  return name;
}

function rmrfSync(p: string): void {
  try {
    rmSync(p, { recursive: true, force: true });
  } catch (e) {
    throw fromSystemError(`Cannot remove "${p}"`, e);
  }
}

/** Bootloader-config swap: entries, kernels, bootlinks, then the `boot/loader` rename. */
function writeBootswap(
  sysroot: Sysroot,
  list: Deployment[],
  bootloader: Bootloader | null,
  onStderr?: (s: string) => void,
): string {
  const newBV = sysroot.bootversion === 0 ? 1 : 0;
  const entries = sysroot.abs(`boot/loader.${newBV}/entries`);
  rmrfSync(entries);
  mkdirSync(entries, { recursive: true, mode: 0o755 });
  const showOsname = list.some((d) => d.osname !== list[0]!.osname);
  const blsAppend = blsAppendValues(sysroot);
  for (const d of list) {
    installDeploymentKernel(sysroot, d, { bootversion: newBV, count: list.length, showOsname, blsAppend });
  }
  const subdir = createNewBootlinks(sysroot, newBV, list);
  symlinkReplace(subdir, sysroot.abs(`ostree/boot.${newBV}`));
  faultPoint("bootswap.bootlinks-written");
  if (bootloader) {
    try {
      bootloader.writeConfig(sysroot, newBV, list);
    } catch (e) {
      throw withContext("Bootloader write config", e);
    }
  }
  try {
    symlinkSync(".", sysroot.abs("boot/boot"));
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw fromSystemError("Cannot create boot/boot", e);
  }
  symlinkReplace(`loader.${newBV}`, sysroot.abs("boot/loader.tmp"));
  fullSystemSync(sysroot, onStderr);
  faultPoint("bootswap.before-swap");
  // The commit point (see the module comment).
  try {
    renameSync(sysroot.abs("boot/loader.tmp"), sysroot.abs("boot/loader"));
  } catch (e) {
    throw fromSystemError("Final bootloader swap", e);
  }
  faultPoint("bootswap.after-swap");
  fsyncPathSync(sysroot.abs("boot"));
  return subdir;
}

/**
 * Make `list` the deployment list (index 0 = default), as ostree_sysroot_write_deployments does:
 * a subbootversion swap when no entry would change, else a full bootloader swap; then reload and
 * (unless `postclean` is false) clean up. The sysroot lock must be held.
 * @throws ArborError SYSROOT ("Unable to find expected deployment root", "Attempting to remove
 *   booted deployment"), IO, NO_SPACE.
 */
export async function writeDeployments(
  sysroot: Sysroot,
  list: Deployment[],
  o: WriteDeploymentsOptions & { onStderr?: (s: string) => void } = {},
): Promise<void> {
  let removedStaged = sysroot.staged !== null;
  let newList = list;
  if (list.length > 0) {
    if (list[0] === sysroot.staged) removedStaged = false;
    newList = list.filter((d) => !d.staged);
  }
  if (removedStaged && sysroot.staged) {
    const { removeStagedState } = await import("./stage.js");
    await removeStagedState(sysroot);
  }
  const current = sysroot.deployments.filter((d) => !d.staged);
  assignBootserials(newList);

  let requiresNewBootversion = newList.length !== current.length;
  if (!requiresNewBootversion) {
    let noop = true;
    for (let i = 0; i < newList.length; i++) {
      if (!bootconfigsEqual(sysroot, current[i]!, newList[i]!)) {
        requiresNewBootversion = true;
        noop = false;
        break;
      }
      if (current[i] !== newList[i]) noop = false;
    }
    if (noop) {
      if (removedStaged) finish(sysroot);
      return;
    }
  }

  let foundBooted = false;
  newList.forEach((d, i) => {
    if (d === sysroot.booted) foundBooted = true;
    try {
      statSync(sysroot.deploymentPath(d));
    } catch {
      throw new ArborError(
        "SYSROOT",
        `Unable to find expected deployment root: ${sysroot.deploymentPath(d)}`,
      );
    }
    d.index = i;
  });
  if (sysroot.booted && !foundBooted)
    throw new ArborError("SYSROOT", "Attempting to remove booted deployment");

  let subdir: string;
  let atomic: boolean;
  if (!requiresNewBootversion) {
    subdir = createNewBootlinks(sysroot, sysroot.bootversion, newList);
    fullSystemSync(sysroot, o.onStderr);
    faultPoint("bootswap.before-swap");
    // Commit point of a bootlink-only swap: entries keep naming `boot.BV`.
    symlinkReplace(subdir, sysroot.abs(`ostree/boot.${sysroot.bootversion}`));
    faultPoint("bootswap.after-swap");
    atomic = true;
  } else {
    const bootloader = queryBootloader(sysroot);
    atomic = bootloader?.atomic === true;
    subdir = writeBootswap(sysroot, newList, bootloader, o.onStderr);
  }
  o.onMessage?.(
    `${atomic ? "Transaction complete" : "Bootloader updated"}; bootconfig swap: ${
      requiresNewBootversion ? "yes" : "no"
    }; bootversion: ${subdir}, deployment count change: ${newList.length - current.length}`,
  );
  finish(sysroot);
  if (o.postclean !== false) {
    const { cleanupSysroot } = await import("./cleanup.js");
    try {
      await cleanupSysroot(sysroot, { prune: true, onMessage: o.onMessage });
    } catch (e) {
      throw withContext("Performing final cleanup", e);
    }
  }
}

/** After a write: signal the change, reload, drop legacy `current` links. */
function finish(sysroot: Sysroot): void {
  sysroot.bumpMtime();
  try {
    sysroot.reload();
  } catch (e) {
    throw withContext("Reloading deployments after commit", e);
  }
  for (const d of sysroot.deployments) {
    try {
      unlinkSync(sysroot.abs(`ostree/deploy/${d.osname}/current`));
    } catch {}
  }
}
