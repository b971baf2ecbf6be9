/**
 * Installing a deployment's kernel set into `/boot/ostree/OS-BOOTCSUM/` and writing its BLS entry
 * into `/boot/loader.N/entries/` (fact sheet §7.4–7.5), exactly as OSTree 2022.7 names and fills
 * them: title from os-release and the commit's `version`, `version` = count − index, `linux`,
 * `initrd`, `devicetree`/`fdtdir`, and `options` with `ostree=/ostree/boot.N/OS/BOOTCSUM/SERIAL`
 * (plus `init=…/ostree-prepare-root` when there is no initramfs).
 *
 * Files in `/boot/ostree/OS-BOOTCSUM/` are only ever added, never rewritten: the live entry set
 * may point at them. Each appears complete or not at all (hardlink, or copy to a temporary name
 * then rename), so an interrupted install is finished by the next one.
 */
import { randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  copyFileSync,
  fchmodSync,
  fdatasyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { lookup } from "../core/metadata.js";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { Variant } from "../gvariant/index.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { faultPoint } from "../io/fs.js";
import { BootConfig, blsEntryName } from "./bootconfig.js";
import type { Deployment } from "./deployment.js";
import { KernelArgs } from "./kargs.js";
import { findKernelLayout } from "./kernel-layout.js";
import type { Sysroot } from "./sysroot.js";

/**
 * True if `p` exists, following symlinks (a dangling link is absent).
 * @throws ArborError IO for errors other than ENOENT/ENOTDIR.
 */
export function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOENT" || c === "ENOTDIR") return false;
    throw fromSystemError(`Cannot stat "${p}"`, e);
  }
}

/** Hardlink `src` to `dest`, or copy it (to a temp name, then rename) across filesystems. */
function installIntoBoot(src: string, dest: string): void {
  try {
    linkSync(src, dest);
    return;
  } catch (e) {
    const c = errnoCode(e);
    if (c !== "EXDEV" && c !== "EMLINK") throw fromSystemError(`linkat(${dest})`, e);
  }
  const st = lstatSync(src);
  const tmp = join(dirname(dest), `.${randomBytes(6).toString("hex")}.tmp`);
  try {
    copyFileSync(src, tmp);
    chownSync(tmp, st.uid, st.gid);
    const fd = openSync(tmp, "r+");
    try {
      fchmodSync(fd, st.mode & 0o7777);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, dest);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw fromSystemError(`Cannot copy "${src}" to "${dest}"`, e);
  }
}

/** Recursively copy a directory (the `dtb/` tree), overwriting files; attributes first, as ostree. */
function copyDirRecurse(src: string, dest: string): void {
  mkdirSync(dest, { recursive: true, mode: 0o700 });
  const st = statSync(src);
  chownSync(dest, st.uid, st.gid);
  const fd = openSync(dest, "r");
  try {
    fchmodSync(fd, st.mode & 0o7777);
  } finally {
    closeSync(fd);
  }
  for (const name of readdirSync(src)) {
    const s = join(src, name);
    const d = join(dest, name);
    if (lstatSync(s).isDirectory()) copyDirRecurse(s, d);
    else copyFileSync(s, d);
  }
}

/**
 * g_shell_unquote: single quotes are literal, double quotes allow `\` before `$ \` " \\ newline`,
 * a bare `\` escapes the next character. Returns null for an unterminated quote.
 */
export function shellUnquote(s: string): string | null {
  let out = "";
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) return null;
      out += s.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= s.length) return null;
        const d = s[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === "\\" && i + 1 < s.length && '$`"\\\n'.includes(s[i + 1]!)) {
          if (s[i + 1] !== "\n") out += s[i + 1];
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
    } else if (c === "\\") {
      if (i + 1 < s.length && s[i + 1] !== "\n") out += s[i + 1];
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Parse os-release text as ostree does (later duplicates win, unparsable values skipped). */
export function parseOsRelease(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const v = shellUnquote(line.slice(eq + 1));
    if (v !== null) m.set(line.slice(0, eq), v);
  }
  return m;
}

/** The `version` metadata of a commit, if it is a string. */
export function commitVersion(sysroot: Sysroot, csum: string): string | undefined {
  try {
    const v = lookup(sysroot.repo().loadCommit(csum).metadata, "version");
    return v instanceof Variant && v.type === "s" ? (v.value as string) : undefined;
  } catch {
    return undefined;
  }
}

/** The `key=value` pairs of `sysroot.bls-append-except-default`. @throws ArborError BAD_CONFIG */
export function blsAppendValues(sysroot: Sysroot): Array<[string, string]> {
  const items = sysroot.repo().config.getList("sysroot", "bls-append-except-default") ?? [];
  const out = new Map<string, string>();
  for (const kv of items) {
    const eq = kv.indexOf("=");
    if (eq < 0) {
      throw new ArborError(
        "BAD_CONFIG",
        'bls-append-except-default key must be of the form "key1=value1;key2=value2..."',
      );
    }
    out.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return [...out];
}

/** Options for {@link installDeploymentKernel}. */
export interface InstallKernelOptions {
  bootversion: number;
  count: number;
  showOsname: boolean;
  blsAppend: Array<[string, string]>;
}

/**
 * Install `d`'s kernel set and write its BLS entry for `bootversion` (the inactive one).
 * Updates `d.bootconfig` in place.
 * @throws ArborError (prefixed "Installing kernel") NOT_FOUND (no kernel, no os-release), SYSROOT, IO
 */
export function installDeploymentKernel(sysroot: Sysroot, d: Deployment, o: InstallKernelOptions): void {
  try {
    installInner(sysroot, d, o);
  } catch (e) {
    throw withContext("Installing kernel", e);
  }
}

function installInner(sysroot: Sysroot, d: Deployment, o: InstallKernelOptions): void {
  const root = sysroot.deploymentPath(d);
  const layout = findKernelLayout(root, { noDtb: sysroot.debug.noDtb, hash: false });
  const bootcsumDir = `ostree/${d.osname}-${d.bootcsum}`;
  const destDir = sysroot.abs(`boot/${bootcsumDir}`);
  mkdirSync(destDir, { recursive: true, mode: 0o775 });
  mkdirSync(sysroot.abs(`boot/loader.${o.bootversion}/entries`), { recursive: true, mode: 0o775 });
  const install = (src: string | undefined, namever: string | undefined): void => {
    if (src === undefined || namever === undefined) return;
    const dest = join(destDir, namever);
    if (!exists(dest)) installIntoBoot(join(layout.bootDir, src), dest);
  };
  install(layout.kernelSrc, layout.kernelNamever);
  install(layout.initramfsSrc, layout.initramfsNamever);
  if (layout.devicetreeSrc !== undefined) {
    if (layout.devicetreeNamever !== undefined) install(layout.devicetreeSrc, layout.devicetreeNamever);
    else copyDirRecurse(join(layout.bootDir, layout.devicetreeSrc), join(destDir, layout.devicetreeSrc));
  }
  install(layout.hmacSrc, layout.hmacNamever);
  faultPoint("bootswap.kernel-installed");

  const overlays: string[] = [];
  if (d.overlayInitrds.length > 0) {
    const dir = sysroot.abs("boot/ostree/initramfs-overlays");
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const cs of d.overlayInitrds) {
      const dest = join(dir, `${cs}.img`);
      if (!exists(dest)) installIntoBoot(join(sysroot.run.stagedInitrds, cs), dest);
      overlays.push(`/ostree/initramfs-overlays/${cs}.img`);
    }
  }

  const osRelease = readOsRelease(root);
  const name = osRelease.get("PRETTY_NAME") ?? osRelease.get("ID");
  if (name === undefined) throw new ArborError("NOT_FOUND", "No PRETTY_NAME or ID in /etc/os-release");
  const version = commitVersion(sysroot, d.csum);
  let title = name;
  if (version && !name.includes(version)) title += ` ${version}`;
  title += ` (ostree${o.showOsname ? `:${d.osname}` : ""}:${d.index})`;

  const bc = d.bootconfig ?? new BootConfig();
  d.bootconfig = bc;
  bc.set("title", title);
  bc.set("version", String(o.count - d.index));
  bc.set("linux", `/${bootcsumDir}/${layout.kernelNamever}`);
  const kargs = KernelArgs.parse(bc.get("options"));
  if (layout.initramfsNamever !== undefined) {
    bc.set("initrd", `/${bootcsumDir}/${layout.initramfsNamever}`);
    if (overlays.length > 0) bc.overlayInitrds = overlays;
  } else {
    kargs.replace(
      `init=/ostree/boot.${o.bootversion}/${d.osname}/${d.bootcsum}/${d.bootserial}/usr/lib/ostree/ostree-prepare-root`,
    );
  }
  if (layout.devicetreeNamever !== undefined)
    bc.set("devicetree", `/${bootcsumDir}/${layout.devicetreeNamever}`);
  else if (layout.devicetreeSrc !== undefined) bc.set("fdtdir", `/${bootcsumDir}/${layout.devicetreeSrc}`);
  kargs.replace(`ostree=/ostree/boot.${o.bootversion}/${d.osname}/${d.bootcsum}/${d.bootserial}`);
  bc.set("options", kargs.toString());
  if (d.index !== 0) for (const [k, v] of o.blsAppend) bc.set(k, v);

  const entry = sysroot.abs(
    `boot/loader.${o.bootversion}/entries/${blsEntryName(o.count, d.index, d.osname)}`,
  );
  writeFileAtomicSync(entry, bc.serialize(), { mode: 0o644, fsync: false });
  faultPoint("bootswap.entry-written");
}

function readOsRelease(root: string): Map<string, string> {
  const usrLib = join(root, "usr/lib/os-release");
  const rel = exists(usrLib) ? "usr/lib/os-release" : "etc/os-release";
  try {
    return parseOsRelease(readFileSync(join(root, rel), "utf8"));
  } catch (e) {
    throw fromSystemError(`Reading /${rel}`, e);
  }
}
