/**
 * `admin cleanup` and the cleanup after every deployment change (fact sheet §7.9): delete what the
 * live boot state no longer references. Safe to interrupt and to repeat, because it only ever
 * deletes things that are unreachable from `boot/loader` (see bootswap.ts):
 *
 * 1. the other bootversion (`boot/loader.(1−BV)`, `ostree/boot.(1−BV)*`) and the other
 *    subbootversion (`ostree/boot.BV.(1−SUB)`);
 * 2. deployment directories (and their `.origin`) not in the list, immutable flag cleared first;
 *    `boot/ostree/OS-BOOTCSUM` directories whose bootcsum no deployment uses; unused overlay initrds;
 * 3. deployment refs: `ostree/(1−BV)/*` and `ostree/BV/(1−SUB)/*` removed,
 *    `ostree/BV/SUB/INDEX` set to each deployment's commit (keeps them from being pruned by tools
 *    that do not know about deployments);
 * 4. optionally, a prune of the repository (refs at depth 0 plus deployed commits).
 */
import { type Dirent, readdirSync, rmSync, statSync, unlinkSync } from "node:fs";
import { formatSize } from "../core/format-size.js";
import { isChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { isAtomicTempName } from "../io/atomic-write.js";
import { faultPoint, rmrf } from "../io/fs.js";
import { native } from "../io/native.js";
import { listRefs, readRef, refPath } from "../repo/refs.js";
import { Transaction } from "../repo/transaction.js";
import {
  type Deployment,
  deploymentRelPath,
  newDeployment,
  originRelPath,
  parseDeployName,
} from "./deployment.js";
import { pruneSystemRepo } from "./prune-repo.js";
import type { Sysroot } from "./sysroot.js";

/** Options for {@link cleanupSysroot}. */
export interface CleanupOptions {
  /** Also prune the repository (default false: "prepare cleanup"). */
  prune?: boolean;
  /** Receives "Freed objects: 1.2 kB" when a prune freed something. */
  onMessage?: (line: string) => void;
}

function rmrfSync(p: string): void {
  try {
    rmSync(p, { recursive: true, force: true });
  } catch (e) {
    throw fromSystemError(`Cannot remove "${p}"`, e);
  }
}

function readdirMaybe(p: string): Dirent[] {
  try {
    return readdirSync(p, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return [];
    throw fromSystemError(`Cannot read "${p}"`, e);
  }
}

function cleanupOtherBootversions(sysroot: Sysroot): void {
  const bv = sysroot.bootversion === 0 ? 1 : 0;
  const sub = sysroot.subbootversion === 0 ? 1 : 0;
  for (const rel of [
    `boot/loader.${bv}`,
    `ostree/boot.${bv}`,
    `ostree/boot.${bv}.0`,
    `ostree/boot.${bv}.1`,
    `ostree/boot.${sysroot.bootversion}.${sub}`,
  ]) {
    rmrfSync(sysroot.abs(rel));
  }
}

/** Every `ostree/deploy/OS/deploy/CSUM.SERIAL` directory on disk. @throws ArborError SYSROOT for a bad name */
export function listDeploymentDirs(sysroot: Sysroot, osname?: string): Deployment[] {
  const out: Deployment[] = [];
  const oses =
    osname !== undefined
      ? [osname]
      : readdirMaybe(sysroot.abs("ostree/deploy"))
          .filter((e) => e.isDirectory())
          .map((e) => e.name);
  for (const os of oses) {
    for (const e of readdirMaybe(sysroot.abs(`ostree/deploy/${os}/deploy`))) {
      if (!e.isDirectory()) continue;
      const p = parseDeployName(e.name);
      if (!p)
        throw new ArborError("SYSROOT", `Invalid deploy name '${e.name}', expected CHECKSUM.TREESERIAL`);
      out.push(newDeployment({ osname: os, ...p }));
    }
  }
  return out;
}

/**
 * Delete one deployment directory and its origin (never the running root).
 * @throws ArborError IO (e.g. EPERM clearing the immutable flag without CAP_LINUX_IMMUTABLE)
 */
export async function removeDeploymentDir(sysroot: Sysroot, d: Deployment): Promise<void> {
  const dir = sysroot.abs(deploymentRelPath(d));
  let st: import("node:fs").Stats;
  try {
    st = statSync(dir);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return;
    throw fromSystemError(`Cannot open "${dir}"`, e);
  }
  if (sysroot.isRootDir(st)) return;
  clearImmutable(dir);
  rmrfSync(sysroot.abs(originRelPath(d)));
  // rmrf clears immutable flags further down too (a deployment interrupted mid-seal).
  await rmrf(dir);
}

function clearImmutable(dir: string): void {
  let flags: number;
  try {
    flags = native().getInodeFlags(dir);
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOTSUP" || c === "ENOTTY" || c === "EOPNOTSUPP") return;
    if (e instanceof ArborError && e.code === "UNSUPPORTED") return;
    throw fromSystemError(`Cannot read inode flags of "${dir}"`, e);
  }
  if (flags & 0x10) {
    try {
      native().setInodeFlags(dir, flags & ~0x10);
    } catch (e) {
      throw fromSystemError(`Cannot clear the immutable flag of "${dir}"`, e);
    }
  }
}

async function cleanupOldDeployments(sysroot: Sysroot): Promise<void> {
  const activeDirs = new Set(sysroot.deployments.map((d) => deploymentRelPath(d)));
  const activeBoot = new Set(sysroot.deployments.map((d) => d.bootcsum));
  const activeOverlays = new Set<string>();
  for (const d of sysroot.deployments) {
    for (const i of d.bootconfig?.overlayInitrds ?? []) activeOverlays.add(i.slice(i.lastIndexOf("/") + 1));
  }
  for (const d of listDeploymentDirs(sysroot)) {
    if (activeDirs.has(deploymentRelPath(d))) continue;
    await removeDeploymentDir(sysroot, d);
    faultPoint("cleanup.deployment-removed");
  }
  // temporary files of interrupted origin writes (`.NAME.tmp-XXXX`, never a valid deployment name)
  for (const os of readdirMaybe(sysroot.abs("ostree/deploy"))) {
    if (!os.isDirectory()) continue;
    for (const e of readdirMaybe(sysroot.abs(`ostree/deploy/${os.name}/deploy`))) {
      if (e.isFile() && isAtomicTempName(e.name)) {
        try {
          unlinkSync(sysroot.abs(`ostree/deploy/${os.name}/deploy/${e.name}`));
        } catch {}
      }
    }
  }
  for (const e of readdirMaybe(sysroot.abs("boot/ostree"))) {
    if (!e.isDirectory()) continue;
    const dash = e.name.lastIndexOf("-");
    if (dash < 0 || !isChecksum(e.name.slice(dash + 1))) continue;
    if (activeBoot.has(e.name.slice(dash + 1))) continue;
    rmrfSync(sysroot.abs(`boot/ostree/${e.name}`));
  }
  for (const e of readdirMaybe(sysroot.abs("boot/ostree/initramfs-overlays"))) {
    if (!e.isFile() || activeOverlays.has(e.name)) continue;
    try {
      unlinkSync(sysroot.abs(`boot/ostree/initramfs-overlays/${e.name}`));
    } catch {}
  }
}

/** Remove refs under `prefix` (only the ref files: ostree leaves the directories). */
function cleanupRefPrefix(sysroot: Sysroot, prefix: string): void {
  const repo = sysroot.repo();
  for (const r of listRefs(repo, { kind: "heads" })) {
    if (r.remote !== null || !r.ref.startsWith(`${prefix}/`)) continue;
    try {
      unlinkSync(refPath(repo, r.ref));
    } catch (e) {
      if (errnoCode(e) !== "ENOENT") throw fromSystemError(`Cannot delete ref "${r.ref}"`, e);
    }
  }
}

/**
 * Point `ostree/BV/SUB/INDEX` at each deployment's commit. The updates go through a repository
 * transaction (as ostree's do), so the repo lock and the transaction's staging rules apply.
 */
async function generateDeploymentRefs(sysroot: Sysroot): Promise<void> {
  const bv = sysroot.bootversion;
  const sub = sysroot.subbootversion;
  cleanupRefPrefix(sysroot, `ostree/${bv === 0 ? 1 : 0}/0`);
  cleanupRefPrefix(sysroot, `ostree/${bv === 0 ? 1 : 0}/1`);
  cleanupRefPrefix(sysroot, `ostree/${bv}/${sub === 0 ? 1 : 0}`);
  const repo = sysroot.repo();
  const updates: Array<[string, string]> = [];
  sysroot.deployments.forEach((d, i) => {
    const ref = `ostree/${bv}/${sub}/${i}`;
    let cur: string | null = null;
    try {
      cur = readRef(repo, ref);
    } catch {}
    if (cur !== d.csum) updates.push([ref, d.csum]);
  });
  if (updates.length === 0) return;
  const tx = await Transaction.begin(repo);
  try {
    for (const [ref, cs] of updates) tx.setRef(ref, cs);
    await tx.commit();
  } catch (e) {
    await tx.abort();
    throw e;
  }
}

/**
 * Clean up the sysroot (see the module comment). The sysroot must be loaded and locked.
 * @throws ArborError (prefixed "Cleaning bootversions", "Cleaning deployments", "Generating
 *   deployment refs", "Pruning system repository") IO, LOCKED.
 */
export async function cleanupSysroot(sysroot: Sysroot, o: CleanupOptions = {}): Promise<void> {
  try {
    cleanupOtherBootversions(sysroot);
  } catch (e) {
    throw withContext("Cleaning bootversions", e);
  }
  try {
    await cleanupOldDeployments(sysroot);
  } catch (e) {
    throw withContext("Cleaning deployments", e);
  }
  try {
    await generateDeploymentRefs(sysroot);
  } catch (e) {
    throw withContext("Generating deployment refs", e);
  }
  if (o.prune) {
    let freed: number;
    try {
      freed = (
        await pruneSystemRepo(
          sysroot.repo(),
          sysroot.deployments.map((d) => d.csum),
        )
      ).freedBytes;
    } catch (e) {
      throw withContext("Pruning system repository", e);
    }
    if (freed > 0) o.onMessage?.(`Freed objects: ${formatSize(freed)}`);
  }
}
