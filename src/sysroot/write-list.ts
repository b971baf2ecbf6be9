/**
 * Deployment-list edits built on {@link writeDeployments}: adding a new deployment with ostree's
 * retention rules, undeploying, changing the default (set-default, rollback), and replacing a
 * deployment's kernel arguments. Each one computes the new list and performs one boot switch.
 */
import { ArborError } from "../errors.js";
import { type WriteDeploymentsOptions, writeDeployments } from "./bootswap.js";
import { cloneDeployment, type Deployment, deploymentEqual, isPinned } from "./deployment.js";
import { KernelArgs } from "./kargs.js";
import type { Sysroot } from "./sysroot.js";

/** Retention flags of {@link simpleWriteDeployment} (`admin deploy --retain…`). */
export interface SimpleWriteFlags {
  /** Keep every current deployment. */
  retain?: boolean;
  /** Keep deployments newer than the booted (or merge) one. */
  retainPending?: boolean;
  /** Keep deployments older than the booted (or merge) one. */
  retainRollback?: boolean;
  /** Insert after the booted/merge deployment instead of making it the default. */
  notDefault?: boolean;
  /** Do not clean up afterwards. */
  noClean?: boolean;
}

/**
 * The list `simpleWriteDeployment` would write: the new deployment first (or after the
 * booted/merge deployment with `notDefault`), then the kept ones: pinned, other stateroots,
 * booted, merge, and pending/rollback per the flags.
 */
export function computeNewList(
  sysroot: Sysroot,
  osname: string | undefined,
  newD: Deployment,
  merge: Deployment | null,
  f: SimpleWriteFlags,
): Deployment[] {
  const booted = sysroot.booted;
  const os = osname ?? booted?.osname;
  const makeDefault = !f.notDefault;
  let retain = !!f.retain;
  if (!booted && !merge && (f.retainPending || f.retainRollback)) retain = true;
  const out: Deployment[] = [];
  let added = false;
  if (makeDefault) {
    out.push(newD);
    added = true;
  }
  let beforeBooted = true;
  let beforeMerge = true;
  for (const d of sysroot.deployments) {
    const osMatches = os === undefined || d.osname === os;
    const isBooted = deploymentEqual(d, booted);
    const isMerge = deploymentEqual(d, merge);
    if (isBooted) beforeBooted = false;
    if (isMerge) beforeMerge = false;
    const passedCrossover = booted ? !beforeBooted : !beforeMerge;
    if (
      retain ||
      isPinned(d) ||
      !osMatches ||
      (f.retainPending && !passedCrossover) ||
      isBooted ||
      isMerge ||
      (f.retainRollback && passedCrossover)
    ) {
      out.push(d);
    }
    if (!added && passedCrossover) {
      out.push(newD);
      added = true;
    }
  }
  if (!added) out.push(newD);
  return out;
}

/**
 * Add `newD` to the boot list with ostree's retention rules and write it.
 * @throws as {@link writeDeployments}
 */
export async function simpleWriteDeployment(
  sysroot: Sysroot,
  osname: string | undefined,
  newD: Deployment,
  merge: Deployment | null,
  f: SimpleWriteFlags,
  o: WriteDeploymentsOptions = {},
): Promise<void> {
  const list = computeNewList(sysroot, osname, newD, merge, f);
  await writeDeployments(sysroot, list, { ...o, postclean: !f.noClean });
}

/**
 * The deployment at `index`.
 * @throws ArborError NOT_FOUND "Out of range deployment index N, expected < M", USAGE "Invalid index"
 */
export function deploymentAt(sysroot: Sysroot, index: number): Deployment {
  if (!Number.isInteger(index) || index < 0) throw new ArborError("NOT_FOUND", `Invalid index ${index}`);
  if (index >= sysroot.deployments.length) {
    throw new ArborError(
      "NOT_FOUND",
      `Out of range deployment index ${index}, expected < ${sysroot.deployments.length}`,
    );
  }
  return sysroot.deployments[index]!;
}

/**
 * Remove the deployment at `index` from the boot list (its directory goes at cleanup).
 * @returns the removed deployment.
 * @throws ArborError NOT_FOUND (bad index, or it is the booted deployment), as writeDeployments
 */
export async function undeploy(
  sysroot: Sysroot,
  index: number,
  o: WriteDeploymentsOptions & { onRemoved?: (d: Deployment) => void } = {},
): Promise<Deployment> {
  const target = deploymentAt(sysroot, index);
  if (target === sysroot.booted) {
    throw new ArborError("NOT_FOUND", `Cannot undeploy currently booted deployment ${index}`);
  }
  const list = sysroot.deployments.filter((_, i) => i !== index);
  await writeDeployments(sysroot, list, o);
  o.onRemoved?.(target);
  return target;
}

/**
 * Make the deployment at `index` the default (moved to the front; the others keep their order).
 * A no-op for index 0.
 * @throws ArborError NOT_FOUND, as writeDeployments
 */
export async function setDefaultDeployment(
  sysroot: Sysroot,
  index: number,
  o: WriteDeploymentsOptions = {},
): Promise<Deployment> {
  const target = deploymentAt(sysroot, index);
  if (target.staged) throw new ArborError("SYSROOT", "Cannot make a staged deployment the default");
  if (index === 0) return target;
  const list = [target, ...sysroot.deployments.filter((_, i) => i !== index)];
  await writeDeployments(sysroot, list, o);
  return target;
}

/**
 * Roll back: make the previous deployment the default — the rollback deployment when booted,
 * else the second deployment of the default's stateroot.
 * @throws ArborError NOT_FOUND when there is nothing to roll back to
 */
export async function rollbackDeployment(
  sysroot: Sysroot,
  o: WriteDeploymentsOptions = {},
): Promise<Deployment> {
  const list = sysroot.deployments.filter((d) => !d.staged);
  let target: Deployment | null = null;
  if (sysroot.booted) {
    target = sysroot.queryDeploymentsFor().rollback;
    if (!target && list[0] !== sysroot.booted) target = sysroot.booted;
  } else if (list.length > 0) {
    target = list.slice(1).find((d) => d.osname === list[0]!.osname) ?? null;
  }
  if (!target) throw new ArborError("NOT_FOUND", "No rollback deployment found");
  return setDefaultDeployment(sysroot, sysroot.deployments.indexOf(target), o);
}

/**
 * Replace all kernel arguments of `d` (a new boot entry set is written).
 * @throws as writeDeployments
 */
export async function setDeploymentKargs(
  sysroot: Sysroot,
  d: Deployment,
  kargs: readonly string[],
  o: WriteDeploymentsOptions = {},
): Promise<void> {
  if (d.staged)
    throw new ArborError("SYSROOT", "Cannot set kernel arguments of a staged deployment this way");
  const clone = cloneDeployment(d);
  clone.bootconfig!.set("options", KernelArgs.fromArgv(kargs).toString());
  await writeDeployments(
    sysroot,
    sysroot.deployments.map((x) => (x === d ? clone : x)),
    o,
  );
}
