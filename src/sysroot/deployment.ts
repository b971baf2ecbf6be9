/**
 * A deployment: one checked-out OS version in a stateroot, `ostree/deploy/OSNAME/deploy/CSUM.SERIAL`,
 * plus what the boot loader knows about it (its BLS entry) and where it came from (its origin).
 *
 * Identity is (osname, csum, deployserial). `bootcsum` names the kernel set it boots with and
 * `bootserial` tells apart deployments sharing a bootcsum in `ostree/boot.N.M/OS/BOOTCSUM/SERIAL`.
 */
import type { KeyFile } from "../repo/config.js";
import type { BootConfig } from "./bootconfig.js";
import { ORIGIN_TRANSIENT_GROUP } from "./origin.js";

/** `unlock` states (fact sheet §7.7); "none" for a sealed deployment. */
export type UnlockedState = "none" | "hotfix" | "development" | "transient";

/** One deployment. Mutable on purpose: writing a deployment list assigns indexes and bootserials. */
export interface Deployment {
  /** Position in the current list (0 = default), -1 when not (yet) in a list. */
  index: number;
  osname: string;
  /** The commit checked out. */
  csum: string;
  deployserial: number;
  /** SHA-256 of kernel + initramfs (+ devicetree). */
  bootcsum: string;
  /** Serial among deployments of the same bootcsum, -1 until assigned. */
  bootserial: number;
  /** Its boot entry (kernel arguments live in `options`); null only transiently. */
  bootconfig: BootConfig | null;
  /** Parsed origin file, or null if it has none. */
  origin: KeyFile | null;
  unlocked: UnlockedState;
  /** A staged deployment, finalized at shutdown. */
  staged: boolean;
  /** Checksums of overlay initrds (from extra `initrd` lines). */
  overlayInitrds: string[];
}

/** A new deployment record with defaults for the optional parts. */
export function newDeployment(
  o: Pick<Deployment, "osname" | "csum" | "deployserial"> & Partial<Deployment>,
): Deployment {
  return {
    index: -1,
    bootcsum: "",
    bootserial: -1,
    bootconfig: null,
    origin: null,
    unlocked: "none",
    staged: false,
    overlayInitrds: [],
    ...o,
  };
}

/** A shallow copy with its own boot config (so edits to options do not leak). */
export function cloneDeployment(d: Deployment): Deployment {
  return {
    ...d,
    bootconfig: d.bootconfig ? d.bootconfig.clone() : null,
    overlayInitrds: [...d.overlayInitrds],
  };
}

/** Same osname, csum and deployserial. */
export function deploymentEqual(a: Deployment | null | undefined, b: Deployment | null | undefined): boolean {
  if (a === b) return true;
  if (!a || !b) return false;
  return a.osname === b.osname && a.csum === b.csum && a.deployserial === b.deployserial;
}

/** `CSUM.SERIAL`, the deployment directory's name. */
export function deploymentName(d: Pick<Deployment, "csum" | "deployserial">): string {
  return `${d.csum}.${d.deployserial}`;
}

/** Path of the deployment root relative to the sysroot. */
export function deploymentRelPath(d: Pick<Deployment, "osname" | "csum" | "deployserial">): string {
  return `ostree/deploy/${d.osname}/deploy/${deploymentName(d)}`;
}

/** Path of the origin file relative to the sysroot. */
export function originRelPath(d: Pick<Deployment, "osname" | "csum" | "deployserial">): string {
  return `${deploymentRelPath(d)}.origin`;
}

/** True if the origin pins the deployment (`[libostree-transient] pinned=true`). */
export function isPinned(d: Deployment): boolean {
  if (!d.origin) return false;
  try {
    return d.origin.getBool(ORIGIN_TRANSIENT_GROUP, "pinned", false);
  } catch {
    return false;
  }
}

const DEPLOY_NAME_RE = /^([0-9a-f]+)\.([0-9]+)$/;

/** Parse `CSUM.SERIAL`; null when the name is not one. */
export function parseDeployName(name: string): { csum: string; deployserial: number } | null {
  const m = DEPLOY_NAME_RE.exec(name);
  return m ? { csum: m[1]!, deployserial: Number.parseInt(m[2]!, 10) } : null;
}
