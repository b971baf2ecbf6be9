/**
 * What `admin status` reports about each deployment (fact sheet §7.8), as plain data: the CLI
 * prints it the way ostree does, or as JSON.
 */

import { lookup } from "../core/metadata.js";
import { Variant } from "../gvariant/index.js";
import { type Deployment, isPinned } from "./deployment.js";
import type { Sysroot } from "./sysroot.js";

/** One deployment, described. */
export interface DeploymentStatus {
  index: number;
  stateroot: string;
  checksum: string;
  deployserial: number;
  bootcsum: string;
  booted: boolean;
  staged: boolean;
  pending: boolean;
  rollback: boolean;
  pinned: boolean;
  unlocked: Deployment["unlocked"];
  /** Commit `version` metadata. */
  version?: string;
  /** Commit `ostree.source-title` metadata. */
  sourceTitle?: string;
  /** `[origin] refspec`; null when there is no origin file, undefined when it has no refspec. */
  originRefspec: string | null | undefined;
  /** Kernel arguments (the entry's `options`). */
  kargs?: string;
}

function stringMeta(sysroot: Sysroot, csum: string, key: string): string | undefined {
  try {
    const v = lookup(sysroot.repo().loadCommit(csum).metadata, key);
    return v instanceof Variant && v.type === "s" ? (v.value as string) : undefined;
  } catch {
    return undefined; // a missing commit: ostree "stumbles on"
  }
}

/** Describe every deployment of a loaded sysroot, default first. */
export function deploymentStatuses(sysroot: Sysroot): DeploymentStatus[] {
  const { pending, rollback } = sysroot.booted
    ? sysroot.queryDeploymentsFor()
    : { pending: null, rollback: null };
  return sysroot.deployments.map((d) => {
    const s: DeploymentStatus = {
      index: d.index,
      stateroot: d.osname,
      checksum: d.csum,
      deployserial: d.deployserial,
      bootcsum: d.bootcsum,
      booted: d === sysroot.booted,
      staged: d.staged,
      pending: d === pending,
      rollback: d === rollback,
      pinned: isPinned(d),
      unlocked: d.unlocked,
      originRefspec: d.origin ? d.origin.get("origin", "refspec") : null,
    };
    const version = stringMeta(sysroot, d.csum, "version");
    if (version !== undefined) s.version = version;
    const title = stringMeta(sysroot, d.csum, "ostree.source-title");
    if (title !== undefined) s.sourceTitle = title;
    const kargs = d.bootconfig?.get("options");
    if (kargs !== undefined) s.kargs = kargs;
    return s;
  });
}
