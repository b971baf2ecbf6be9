/**
 * Where `remote add|delete --sysroot=PATH` keep remotes, as ostree decides it: the repository is
 * always `PATH/ostree/repo`; a *physical* sysroot (no `PATH/sysroot`) keeps remotes in that
 * repo's config, while a deployment root (which has `sysroot`, pointing at the physical root)
 * keeps them in `PATH/etc/ostree/remotes.d/NAME.conf` — unless `core.add-remotes-config-dir` is
 * false, which the remotes layer checks when it writes.
 */
import { statSync } from "node:fs";
import { join, resolve } from "node:path";

/** The repository and remotes.d directory for a `--sysroot` path. */
export interface SysrootRemotesLocation {
  /** `PATH/ostree/repo`. */
  repoPath: string;
  /** `PATH/etc/ostree/remotes.d` for a deployment root, null for a physical sysroot. */
  remotesDir: string | null;
}

/** True if `path` is a physical sysroot: it has no `sysroot` entry (a dangling link counts as none). */
export function isPhysicalSysroot(path: string): boolean {
  try {
    return statSync(join(path, "sysroot"), { throwIfNoEntry: false }) === undefined;
  } catch {
    return true; // ENOTDIR, EACCES…: no usable `sysroot` entry
  }
}

/** Resolve `--sysroot=PATH` for the remote commands. Never throws. */
export function sysrootRemotesLocation(path: string): SysrootRemotesLocation {
  const root = resolve(path);
  return {
    repoPath: join(root, "ostree/repo"),
    remotesDir: isPhysicalSysroot(root) ? null : join(root, "etc/ostree/remotes.d"),
  };
}
