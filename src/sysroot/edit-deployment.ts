/**
 * Edits of one deployment that do not change the deployment list: pinning and origin rewrites,
 * kernel arguments rewritten in place (`admin kargs edit-in-place`), and `unlock`.
 *
 * In-place edits replace one file at a time atomically (temp + rename): after a crash each entry
 * or origin is wholly old or wholly new, and every entry still names the same, complete
 * deployment — only its `options` line may differ from its siblings'.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArborError, fromSystemError } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { faultPoint } from "../io/fs.js";
import type { KeyFile } from "../repo/config.js";
import { blsEntryName } from "./bootconfig.js";
import { deployTree, setDeploymentMutable, writeOriginFile } from "./deploy.js";
import { type Deployment, isPinned } from "./deployment.js";
import { KernelArgs } from "./kargs.js";
import { cloneOrigin, ORIGIN_TRANSIENT_GROUP } from "./origin.js";
import { readStagedDeployment, writeStagedDeployment } from "./staged-file.js";
import type { Sysroot } from "./sysroot.js";
import { simpleWriteDeployment } from "./write-list.js";

/** Replace `d`'s origin file (durably) and signal the change. */
export function writeOrigin(sysroot: Sysroot, d: Deployment, origin: KeyFile): void {
  writeOriginFile(sysroot, d, origin, true);
  sysroot.bumpMtime();
}

/**
 * Pin or unpin `d` (pinned deployments survive automatic garbage collection).
 * @returns false if it already was in that state.
 * @throws ArborError SYSROOT "Cannot pin staged deployment"
 */
export function setPinned(sysroot: Sysroot, d: Deployment, pinned: boolean): boolean {
  if (isPinned(d) === pinned) return false;
  if (d.staged) throw new ArborError("SYSROOT", "Cannot pin staged deployment");
  const origin = d.origin ? cloneOrigin(d.origin) : null;
  if (!origin) throw new ArborError("SYSROOT", "Cannot pin a deployment without an origin file");
  if (pinned) origin.setBool(ORIGIN_TRANSIENT_GROUP, "pinned", true);
  else origin.unset(ORIGIN_TRANSIENT_GROUP, "pinned");
  writeOrigin(sysroot, d, origin);
  return true;
}

/**
 * Set the kernel arguments of `d` to `kargs` by rewriting its entry in place (no new bootversion),
 * or, for the staged deployment, its staged record.
 * @throws ArborError IO
 */
export function setKargsInPlace(sysroot: Sysroot, d: Deployment, kargs: string): void {
  if (d.staged) {
    const r = readStagedDeployment(sysroot.run.staged);
    if (!r) throw new ArborError("NOT_FOUND", `No staged deployment record in "${sysroot.run.staged}"`);
    writeStagedDeployment(sysroot.run.staged, {
      deployment: r.deployment,
      merge: r.merge,
      kargs: KernelArgs.parse(kargs).toArgv(),
      overlayInitrds: r.overlayInitrds,
    });
    return;
  }
  const bc = d.bootconfig;
  if (!bc) throw new ArborError("SYSROOT", `Deployment ${d.csum}.${d.deployserial} has no boot entry`);
  bc.set("options", kargs);
  const name = blsEntryName(sysroot.deployments.length, d.index, d.osname);
  writeFileAtomicSync(sysroot.abs(`boot/loader.${sysroot.bootversion}/entries/${name}`), bc.serialize(), {
    mode: 0o644,
  });
  faultPoint("kargs.entry-rewritten");
}

/** The state `unlock` moves the booted deployment to. */
export type UnlockTarget = "hotfix" | "development" | "transient";

/**
 * Make the booted deployment's /usr writable through an overlayfs (`admin unlock`). With hotfix, a
 * sealed clone is first added as the rollback target and the overlay persists across reboots.
 * @throws ArborError SYSROOT (not booted; already unlocked), UNSUPPORTED (overlayfs cannot be
 *   mounted here), IO
 */
export async function unlockDeployment(
  sysroot: Sysroot,
  target: UnlockTarget,
  o: { onMessage?: (line: string) => void } = {},
): Promise<void> {
  const d = sysroot.requireBooted();
  if (d.unlocked !== "none")
    throw new ArborError("SYSROOT", `Deployment is already in unlocked state: ${d.unlocked}`);
  const merge = sysroot.mergeDeployment(d.osname);
  if (!merge) throw new ArborError("SYSROOT", "No previous deployment to duplicate");
  if (target === "hotfix") {
    const { cleanupSysroot } = await import("./cleanup.js");
    await cleanupSysroot(sysroot, { prune: false });
    const clone = await deployTree(sysroot, {
      osname: d.osname,
      revision: d.csum,
      origin: d.origin,
      merge,
      overrideKargs: KernelArgs.parse(merge.bootconfig?.get("options")).toArgv(),
      onMessage: o.onMessage,
    });
    await simpleWriteDeployment(
      sysroot,
      d.osname,
      clone,
      merge,
      { notDefault: true },
      { onMessage: o.onMessage },
    );
  }
  setDeploymentMutable(sysroot, d, true);
  const root = sysroot.deploymentPath(d);
  const usrMode = statSync(join(root, "usr")).mode & 0o7777;
  let upper: string;
  let work: string;
  let ovlDir = "";
  if (target === "hotfix") {
    upper = ".usr-ovl-upper";
    work = ".usr-ovl-work";
    for (const p of [upper, work]) mkdirSync(join(root, p), { recursive: true, mode: usrMode });
  } else {
    ovlDir = mkdtempSync("/var/tmp/ostree-unlock-ovl.");
    upper = join(ovlDir, "upper");
    work = join(ovlDir, "work");
    for (const p of [upper, work]) mkdirSync(p, { mode: usrMode });
  }
  const opts = `lowerdir=usr,upperdir=${upper},workdir=${work}`;
  const args = ["-t", "overlay", "overlay", "-o", target === "transient" ? `ro,${opts}` : opts, "/usr"];
  const r = spawnSync("mount", args, { cwd: root, encoding: "utf8" });
  if (r.status !== 0) {
    throw new ArborError(
      "UNSUPPORTED",
      `Cannot unlock: an overlayfs cannot be mounted on /usr here: ${(r.stderr || String(r.error ?? "")).trim()}`,
    );
  }
  if (target === "hotfix") {
    const origin = d.origin ? cloneOrigin(d.origin) : null;
    if (origin) {
      origin.set("origin", "unlocked", "hotfix");
      writeOriginFile(sysroot, d, origin, true);
    }
  } else {
    const dir = join(sysroot.run.deploymentState, `${d.csum}.${d.deployserial}`);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      writeFileSync(join(dir, `unlocked-${target}`), ovlDir);
    } catch (e) {
      throw fromSystemError(`Cannot record the unlock state in "${dir}"`, e);
    }
  }
  sysroot.bumpMtime();
}
