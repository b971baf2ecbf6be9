/**
 * Staged deployments (fact sheet §7.7): on a booted system, `deploy --stage` checks the tree out
 * now but defers the /etc merge and the boot switch to shutdown (`finalize-staged`, run by
 * `ostree-finalize-staged.service`), so /etc changes made until then are carried over.
 *
 * The record lives in `/run/ostree/staged-deployment` (staged-file.ts); being on /run it vanishes
 * at reboot, and an unfinalized checkout is then garbage for cleanup. `--lock-finalization`
 * creates `/run/ostree/staged-deployment-locked`, which makes finalization a no-op.
 */
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync } from "node:fs";
import { dirname } from "node:path";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { unlinkIfExistsSync } from "../io/fs.js";
import { cleanupSysroot, removeDeploymentDir } from "./cleanup.js";
import {
  type DeployTreeOptions,
  finalizeDeployment,
  initializeDeployment,
  writeOriginFile,
} from "./deploy.js";
import { type Deployment, deploymentEqual } from "./deployment.js";
import { writeStagedDeployment } from "./staged-file.js";
import type { Sysroot } from "./sysroot.js";
import { simpleWriteDeployment } from "./write-list.js";

/** Options for {@link stageTree}. */
export interface StageOptions extends DeployTreeOptions {
  /** Create the finalization lock so shutdown does not apply it. */
  lockFinalization?: boolean;
}

/**
 * Stage `o.revision` for finalization at shutdown.
 * @throws ArborError SYSROOT "Cannot stage deployment: Not currently booted into an OSTree system"
 */
export async function stageTree(sysroot: Sysroot, o: StageOptions): Promise<Deployment> {
  if (!sysroot.booted) {
    throw new ArborError("SYSROOT", "Cannot stage deployment: Not currently booted into an OSTree system");
  }
  if (o.lockFinalization) {
    mkdirSync(dirname(sysroot.run.stagedLocked), { recursive: true, mode: 0o755 });
    closeSync(openSync(sysroot.run.stagedLocked, "a", 0o640));
  }
  const d = await initializeDeployment(sysroot, o);
  writeOriginFile(sysroot, d);
  mkdirSync(dirname(sysroot.run.staged), { recursive: true, mode: 0o755 });
  writeStagedDeployment(sysroot.run.staged, {
    deployment: d,
    merge: o.merge,
    kargs: o.overrideKargs ? [...o.overrideKargs] : null,
    overlayInitrds: o.overlayInitrds ? [...o.overlayInitrds] : null,
  });
  if (sysroot.staged) await removeDeploymentDir(sysroot, sysroot.staged);
  sysroot.bumpMtime();
  sysroot.reload();
  await cleanupSysroot(sysroot, { prune: false });
  return d;
}

/** Drop the staged deployment: its record, its directory and the finalization lock. */
export async function removeStagedState(sysroot: Sysroot): Promise<void> {
  const staged = sysroot.staged;
  if (!staged) return;
  unlinkIfExistsSync(sysroot.run.staged);
  await removeDeploymentDir(sysroot, staged);
  try {
    unlinkSync(sysroot.run.stagedLocked);
  } catch {}
  sysroot.staged = null;
  sysroot.deployments = sysroot.deployments.filter((d) => d !== staged);
}

/**
 * Finalize the staged deployment (shutdown time): merge /etc from the merge deployment, write the
 * boot list with it as default. Does nothing if nothing is staged or finalization is locked.
 * @returns what happened, for logging.
 * @throws ArborError SYSROOT "Failed to find merge deployment …", and anything a deploy throws;
 *   the failure text is also written to `/boot/ostree/finalize-failure.stamp`.
 */
export async function finalizeStaged(
  sysroot: Sysroot,
  o: { onMessage?: (line: string) => void } = {},
): Promise<"none" | "locked" | "finalized"> {
  try {
    return await finalizeInner(sysroot, o);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    try {
      writeFileAtomicSync(sysroot.abs(FINALIZE_FAILURE_STAMP), msg);
    } catch {}
    throw e;
  }
}

/** Where a failed finalization leaves its error text, relative to the sysroot (as ostree). */
export const FINALIZE_FAILURE_STAMP = "boot/ostree/finalize-failure.stamp";

/**
 * Boot-time check (`ostree-boot-complete.service`): if the previous shutdown's finalization failed,
 * remove its stamp (so the failure is reported once) and throw its text.
 * @throws ArborError SYSROOT "ostree-finalize-staged.service failed on previous boot: TEXT";
 *   IO if the stamp exists but cannot be read.
 */
export function bootComplete(sysroot: Sysroot): void {
  const stamp = sysroot.abs(FINALIZE_FAILURE_STAMP);
  let text: string;
  try {
    text = readFileSync(stamp, "utf8");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return;
    throw fromSystemError(`Cannot read "${stamp}"`, e);
  }
  try {
    unlinkSync(stamp);
  } catch {
    // /boot may be read-only outside the service's mount namespace; report the failure anyway.
  }
  throw new ArborError("SYSROOT", `ostree-finalize-staged.service failed on previous boot: ${text}`);
}

async function finalizeInner(
  sysroot: Sysroot,
  o: { onMessage?: (line: string) => void },
): Promise<"none" | "locked" | "finalized"> {
  const staged = sysroot.staged;
  if (!staged) return "none";
  try {
    closeSync(openSync(sysroot.run.stagedLocked, "r"));
    return "locked";
  } catch {}
  const { readStagedDeployment } = await import("./staged-file.js");
  const record = readStagedDeployment(sysroot.run.staged);
  let merge: Deployment | null = null;
  if (record?.merge) {
    const stub = record.merge;
    merge =
      sysroot.deployments.find(
        (d) => !d.staged && deploymentEqual(d, { ...d, ...stub, bootcsum: d.bootcsum }),
      ) ?? null;
    if (!merge) {
      throw new ArborError(
        "SYSROOT",
        `Failed to find merge deployment ${stub.csum}.${stub.deployserial} for staged`,
      );
    }
  }
  unlinkSync(sysroot.run.staged);
  const { BootConfig } = await import("./bootconfig.js");
  const { KernelArgs } = await import("./kargs.js");
  staged.bootconfig = new BootConfig();
  if (record?.kargs) staged.bootconfig.set("options", KernelArgs.fromArgv(record.kargs).toString());
  try {
    finalizeDeployment(sysroot, staged, merge, {
      revision: staged.csum,
      origin: staged.origin,
      merge,
      onMessage: o.onMessage,
    });
  } catch (e) {
    throw withContext("Finalizing staged deployment", e);
  }
  staged.staged = false;
  sysroot.staged = null;
  sysroot.deployments = sysroot.deployments.filter((d) => d !== staged);
  await simpleWriteDeployment(
    sysroot,
    staged.osname,
    staged,
    merge,
    { noClean: true },
    { onMessage: o.onMessage },
  );
  await cleanupSysroot(sysroot, { prune: false });
  return "finalized";
}
