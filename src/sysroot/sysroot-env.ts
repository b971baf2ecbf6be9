/**
 * Knobs of a sysroot that come from its environment: `OSTREE_SYSROOT_DEBUG` flags (the ones
 * OSTree's own tests use) and where runtime state lives (`/run`, injectable for tests).
 */
import { join } from "node:path";

/** Flags from `OSTREE_SYSROOT_DEBUG` (comma-separated), as ostree reads them. */
export interface SysrootDebugFlags {
  /** `mutable-deployments`: do not `chattr +i` deployment roots. */
  mutableDeployments: boolean;
  /** `no-xattrs`: do not copy xattrs in /etc merges and kernel installs. */
  noXattrs: boolean;
  /** `test-fifreeze`: fail the boot swap at the sync step (ostree's test hook). */
  testFifreeze: boolean;
  /** `no-dtb`: ignore devicetrees when looking for the kernel. */
  noDtb: boolean;
}

/** Parse an `OSTREE_SYSROOT_DEBUG` value. */
export function parseDebugFlags(value: string | undefined): SysrootDebugFlags {
  const set = new Set((value ?? "").split(",").map((s) => s.trim()));
  return {
    mutableDeployments: set.has("mutable-deployments"),
    noXattrs: set.has("no-xattrs"),
    testFifreeze: set.has("test-fifreeze"),
    noDtb: set.has("test-no-dtb"),
  };
}

/** The runtime-state paths ostree uses under /run. */
export interface RunPaths {
  booted: string;
  staged: string;
  stagedLocked: string;
  stagedInitrds: string;
  deploymentState: string;
}

export function runPaths(runDir: string): RunPaths {
  return {
    booted: join(runDir, "ostree-booted"),
    staged: join(runDir, "ostree/staged-deployment"),
    stagedLocked: join(runDir, "ostree/staged-deployment-locked"),
    stagedInitrds: join(runDir, "ostree/staged-initrds"),
    deploymentState: join(runDir, "ostree/deployment-state"),
  };
}
