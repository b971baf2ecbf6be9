/**
 * Creating a deployment (fact sheet §7.3): check the commit out as a hardlink farm under a fresh
 * `ostree/deploy/OS/deploy/CSUM.SERIAL`, give it a writable `/etc` (a copy of `usr/etc` with the
 * machine's changes merged in), seed `/var` on first use, write its origin, seal it (`chattr +i`)
 * and hand it to bootswap.ts to become part of the boot list.
 *
 * Nothing here touches live state: the new directory has a name no entry references yet, so a
 * crash leaves only an unreferenced directory that the next cleanup deletes.
 */
import { spawnSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { faultPoint, rmrf, unlinkIfExistsSync } from "../io/fs.js";
import { FS_IMMUTABLE_FL, native } from "../io/native.js";
import { checkoutTree } from "../repo/checkout.js";
import type { KeyFile } from "../repo/config.js";
import type { Repo } from "../repo/repo.js";
import { BootConfig } from "./bootconfig.js";
import { listDeploymentDirs } from "./cleanup.js";
import { type Deployment, newDeployment, originRelPath } from "./deployment.js";
import { mergeEtc } from "./etc-merge.js";
import { KernelArgs } from "./kargs.js";
import { findKernelLayout } from "./kernel-layout.js";
import { type DirtreeCache, loadDirtreeCached } from "./prune-repo.js";
import type { Sysroot } from "./sysroot.js";

/** Options for {@link deployTree}. */
export interface DeployTreeOptions {
  /** Stateroot; default the booted deployment's. */
  osname?: string;
  /** The commit to deploy (a full checksum). */
  revision: string;
  /** Origin to record (null: none). */
  origin: KeyFile | null;
  /** Deployment whose /etc and kernel arguments are inherited (null: none). */
  merge: Deployment | null;
  /** Kernel arguments to use instead of the merge deployment's. */
  overrideKargs?: readonly string[] | null;
  /** Overlay initrd checksums (staged in /run/ostree/staged-initrds). */
  overlayInitrds?: readonly string[] | null;
  /** Progress lines ostree prints on stdout ("Copying /etc changes: …"). */
  onMessage?: (line: string) => void;
  /** Notes ostree prints on stderr ("note: Deploying commit … /var/…"). */
  onNote?: (line: string) => void;
}

/** 1 + the highest serial of an existing `CSUM.N` directory of this stateroot, else 0. */
function allocateDeployserial(sysroot: Sysroot, osname: string, csum: string): number {
  let serial = 0;
  for (const d of listDeploymentDirs(sysroot, osname)) {
    if (d.csum === csum) serial = Math.max(serial, d.deployserial + 1);
  }
  return serial;
}

function existsNoFollow(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return false;
    throw fromSystemError(`Cannot stat "${p}"`, e);
  }
}

/** Turn `.ostree-wh.NAME` files into overlayfs whiteouts (char device 0:0 named NAME). */
function processPassthroughWhiteouts(repo: Repo, csum: string, root: string, cache: DirtreeCache): void {
  const c = repo.loadCommit(csum);
  const stack: Array<[string, string]> = [[c.rootTree, ""]];
  while (stack.length > 0) {
    const [tree, rel] = stack.pop()!;
    const dt = loadDirtreeCached(repo, tree, cache);
    for (const f of dt.files) {
      if (!f.name.startsWith(".ostree-wh.")) continue;
      const src = join(root, rel, f.name);
      const dest = join(root, rel, f.name.slice(".ostree-wh.".length));
      const st = lstatSync(src);
      unlinkSync(src);
      const r = spawnSync("mknod", ["-m", (st.mode & 0o7777).toString(8), dest, "c", "0", "0"]);
      if (r.status !== 0) {
        throw new ArborError(
          "IO",
          `Cannot create whiteout "${dest}": ${r.stderr?.toString().trim() || r.error}`,
        );
      }
      spawnSync("chown", ["-h", `${st.uid}:${st.gid}`, dest]);
    }
    for (const d of dt.dirs) stack.push([d.tree, join(rel, d.name)]);
  }
}

async function checkoutDeploymentTree(sysroot: Sysroot, d: Deployment): Promise<string> {
  const osdeploy = sysroot.abs(`ostree/deploy/${d.osname}/deploy`);
  mkdirSync(osdeploy, { recursive: true, mode: 0o775 });
  const dest = join(osdeploy, `${d.csum}.${d.deployserial}`);
  // An interrupted earlier attempt may have left this (possibly sealed) directory behind.
  await rmrf(dest);
  const repo = sysroot.repo();
  await checkoutTree(repo, { rev: d.csum, dest });
  processPassthroughWhiteouts(repo, d.csum, dest, sysroot.dirtrees);
  return dest;
}

/** Handle `/etc` vs `/usr/etc` and copy `usr/etc` to a writable `etc`. */
async function prepareDeploymentEtc(sysroot: Sysroot, d: Deployment, root: string): Promise<void> {
  const etc = join(root, "etc");
  const usrEtc = join(root, "usr/etc");
  let etcExists = existsNoFollow(etc);
  let usrEtcExists = existsNoFollow(usrEtc);
  if (etcExists && usrEtcExists && lstatSync(etc).isDirectory() && readdirSync(etc).length === 0) {
    rmdirSync(etc);
    etcExists = false;
  }
  if (etcExists) {
    if (usrEtcExists) throw new ArborError("SYSROOT", "Tree contains both /etc and /usr/etc");
    renameSync(etc, usrEtc); // compatibility: old trees shipped /etc
    usrEtcExists = true;
  }
  if (usrEtcExists) {
    await checkoutTree(sysroot.repo(), { rev: d.csum, subpath: "/usr/etc", dest: etc, forceCopy: true });
  }
}

/** Seed the stateroot's /var from the commit if it is empty, else note ignored content. */
async function prepareDeploymentVar(
  sysroot: Sysroot,
  d: Deployment,
  root: string,
  o: DeployTreeOptions,
): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(join(root, "var"));
  } catch {
    return;
  }
  const stateVar = sysroot.abs(`ostree/deploy/${d.osname}/var`);
  let stateNames: string[];
  try {
    stateNames = readdirSync(stateVar);
  } catch (e) {
    throw fromSystemError(`Preparing deployment /var: Opening stateroot "${stateVar}"`, e);
  }
  if (stateNames.length === 0) {
    await checkoutTree(sysroot.repo(), {
      rev: d.csum,
      subpath: "/var",
      dest: stateVar,
      forceCopy: true,
      union: true,
    });
    return;
  }
  for (const n of names) {
    o.onNote?.(`note: Deploying commit ${d.csum} which contains content in /var/${n} that will be ignored.`);
  }
}

/**
 * Check out `o.revision` as a new deployment directory (not yet in the boot list).
 * @throws ArborError NOT_FOUND (unknown stateroot, no kernel), SYSROOT, OBJECT_NOT_FOUND, IO
 */
export async function initializeDeployment(sysroot: Sysroot, o: DeployTreeOptions): Promise<Deployment> {
  const osname = o.osname ?? sysroot.booted?.osname;
  if (!osname) throw new ArborError("USAGE", "No stateroot given and not booted into an OSTree system");
  try {
    statSync(sysroot.abs(`ostree/deploy/${osname}/var`));
  } catch {
    throw new ArborError(
      "NOT_FOUND",
      `Cannot deploy to stateroot "${osname}": it does not exist (initialize it with "admin os-init ${osname}")`,
    );
  }
  const d = newDeployment({
    osname,
    csum: o.revision,
    deployserial: allocateDeployserial(sysroot, osname, o.revision),
    origin: o.origin,
  });
  let root: string;
  try {
    root = await checkoutDeploymentTree(sysroot, d);
  } catch (e) {
    throw withContext("Checking out deployment tree", e);
  }
  faultPoint("deploy.checked-out");
  d.bootcsum = findKernelLayout(root, { noDtb: sysroot.debug.noDtb }).bootcsum;
  d.bootconfig = new BootConfig();
  if (o.overrideKargs) d.bootconfig.set("options", KernelArgs.fromArgv(o.overrideKargs).toString());
  d.overlayInitrds = o.overlayInitrds ? [...o.overlayInitrds] : [];
  try {
    await prepareDeploymentEtc(sysroot, d, root);
  } catch (e) {
    throw withContext("Preparing /etc", e);
  }
  await prepareDeploymentVar(sysroot, d, root, o);
  return d;
}

/** Write `d`'s origin file (none if it has no origin). @throws ArborError IO */
export function writeOriginFile(
  sysroot: Sysroot,
  d: Deployment,
  origin: KeyFile | null = d.origin,
  fsync = false,
): void {
  if (!origin) return;
  try {
    writeFileAtomicSync(sysroot.abs(originRelPath(d)), origin.toString(), { mode: 0o644, fsync });
  } catch (e) {
    throw withContext("Writing out origin file", e);
  }
}

/**
 * Set or clear the immutable flag of a deployment root (`chattr ±i`). Filesystems without inode
 * flags are ignored, as ostree does.
 * @throws ArborError IO (EPERM without CAP_LINUX_IMMUTABLE)
 */
export function setDeploymentMutable(sysroot: Sysroot, d: Deployment, mutable: boolean): void {
  const p = sysroot.deploymentPath(d);
  try {
    const n = native();
    const flags = n.getInodeFlags(p);
    const want = mutable ? flags & ~FS_IMMUTABLE_FL : flags | FS_IMMUTABLE_FL;
    if (want !== flags) n.setInodeFlags(p, want);
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOTSUP" || c === "EOPNOTSUPP" || c === "ENOTTY") return;
    throw fromSystemError(`Cannot ${mutable ? "clear" : "set"} the immutable flag of "${p}"`, e);
  }
}

/**
 * Finish a checked-out deployment: inherit kernel arguments, merge /etc, reset `.updated` stamps,
 * stamp /var, write the origin, seal the root.
 * @throws ArborError ETC_MERGE, NOT_FOUND (stateroot /var missing), IO
 */
export function finalizeDeployment(
  sysroot: Sysroot,
  d: Deployment,
  merge: Deployment | null,
  o: DeployTreeOptions,
): void {
  const root = sysroot.deploymentPath(d);
  const bc = d.bootconfig ?? new BootConfig();
  d.bootconfig = bc;
  if (merge && bc.get("options") === undefined) {
    const opts = merge.bootconfig?.get("options");
    if (opts !== undefined) bc.set("options", opts);
  }
  if (merge) {
    const diff = mergeEtc(sysroot.deploymentPath(merge), root, { noXattrs: sysroot.debug.noXattrs });
    o.onMessage?.(
      `Copying /etc changes: ${diff.modified.length} modified, ${diff.removed.length} removed, ${diff.added.length} added`,
    );
    faultPoint("deploy.etc-merged");
  }
  const varDir =
    sysroot.booted && sysroot.booted.osname === d.osname
      ? join(sysroot.rootDir, "var")
      : sysroot.abs(`ostree/deploy/${d.osname}/var`);
  try {
    statSync(varDir);
  } catch (e) {
    throw fromSystemError(`Cannot open "${varDir}"`, e);
  }
  for (const p of [join(root, "etc/.updated"), join(varDir, ".updated")]) unlinkIfExistsSync(p);
  const stamp = sysroot.abs(`ostree/deploy/${d.osname}/var/.ostree-selabeled`);
  if (!existsNoFollow(stamp)) {
    o.onMessage?.("Relabeling /var (no stamp file 'var/.ostree-selabeled' found)");
    writeFileSync(stamp, "", { mode: 0o644 });
  }
  writeOriginFile(sysroot, d);
  faultPoint("deploy.origin-written");
  if (!sysroot.debug.mutableDeployments) setDeploymentMutable(sysroot, d, false);
  faultPoint("deploy.sealed");
}

/** {@link initializeDeployment} then {@link finalizeDeployment}. */
export async function deployTree(sysroot: Sysroot, o: DeployTreeOptions): Promise<Deployment> {
  const d = await initializeDeployment(sysroot, o);
  finalizeDeployment(sysroot, d, o.merge, o);
  return d;
}
