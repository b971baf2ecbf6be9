/**
 * The OSTree postprocess: make a plain root filesystem deployable (docs/managed.md, "Postprocess").
 * Steps, in order, each on the in-memory tree:
 *  1. kernel: `/boot/vmlinuz-KVER` (+ `initrd.img-KVER` / `initramfs-KVER.img`, `config-KVER`,
 *     `System.map-KVER`) move to `usr/lib/modules/KVER/{vmlinuz,initramfs.img,config,System.map}`,
 *     `/boot` is emptied and the root's `vmlinuz*`/`initrd.img*` symlinks into it are removed;
 *  2. `/etc` moves to `/usr/etc` (the image default the deployment's writable /etc is made from);
 *  3. `/home /root /opt /srv /mnt /media` become symlinks to `var/home`, `var/roothome`,
 *     `var/opt`, `var/srv`, `var/mnt`, `var/media` (content they had moves there first);
 *  4. `/var` content becomes `usr/lib/tmpfiles.d/arbor-var.conf` entries (`d` directories, `L`
 *     symlinks, `C` files copied from `usr/share/factory/var/…`, where their content moves) and
 *     `/var` is left empty: /var is the machine's, created at boot by systemd-tmpfiles;
 *  5. `/sysroot` (the mount point of the physical root) and `/ostree → sysroot/ostree` are added;
 *  6. device nodes were already left out by the import (see sources.ts).
 */
import { isLnk, S_IFLNK, S_IFREG } from "../core/mode.js";
import { ArborError } from "../errors.js";
import type { MutableTree } from "../repo/mutable-tree.js";
import { overlayTree } from "./overlay.js";
import type { TreeBuilder } from "./tree-builder.js";

/** What the postprocess did, for the compose report. */
export interface PostprocessReport {
  kernel: string | null;
  /** Top-level directories turned into symlinks into /var. */
  linked: string[];
  /** Lines written to usr/lib/tmpfiles.d/arbor-var.conf. */
  tmpfiles: number;
}

/** Top-level directory → its place under /var, as OSTree systems lay them out. */
export const VAR_LINKS: ReadonlyArray<[string, string]> = [
  ["home", "home"],
  ["root", "roothome"],
  ["opt", "opt"],
  ["srv", "srv"],
  ["mnt", "mnt"],
  ["media", "media"],
];

const ROOT_DIR = { uid: 0, gid: 0, mode: 0o755, xattrs: [] };

function ensurePath(b: TreeBuilder, root: MutableTree, parts: string[]): MutableTree {
  let d = root;
  for (const p of parts) {
    const had = d.getDir(p);
    d = d.ensureDir(p);
    if (!had && !d.meta) d.meta = b.dirmeta(ROOT_DIR);
  }
  return d;
}

async function symlink(b: TreeBuilder, dir: MutableTree, name: string, target: string): Promise<void> {
  const cs = await b.content(
    { uid: 0, gid: 0, mode: S_IFLNK | 0o777, symlinkTarget: target, xattrs: [] },
    new Uint8Array(0),
  );
  dir.replaceFile(name, cs);
}

function moveKernel(b: TreeBuilder, root: MutableTree): string | null {
  const modules = root.lookupDir(["usr", "lib", "modules"]);
  if (modules) {
    for (const [kver, d] of [...modules.entries().dirs].sort(([x], [y]) => (x < y ? -1 : 1))) {
      if (d.getFile("vmlinuz")) return kver;
    }
  }
  const boot = root.getDir("boot");
  if (!boot) return null;
  const files = boot.entries().files;
  const kvers = [...files.keys()]
    .filter((n) => n.startsWith("vmlinuz-"))
    .map((n) => n.slice("vmlinuz-".length))
    .sort();
  const kver = kvers[kvers.length - 1];
  if (kver === undefined) return null;
  const dest = ensurePath(b, root, ["usr", "lib", "modules", kver]);
  const moves: Array<[string, string]> = [
    [`vmlinuz-${kver}`, "vmlinuz"],
    [`initrd.img-${kver}`, "initramfs.img"],
    [`initramfs-${kver}.img`, "initramfs.img"],
    [`config-${kver}`, "config"],
    [`System.map-${kver}`, "System.map"],
  ];
  for (const [from, to] of moves) {
    const cs = files.get(from);
    if (cs) dest.replaceFile(to, cs);
  }
  for (const n of [...files.keys(), ...boot.entries().dirs.keys()]) boot.remove(n);
  for (const n of [...root.entries().files.keys()]) {
    if (/^(vmlinuz|initrd\.img)(\.old)?$/.test(n)) root.remove(n);
  }
  return kver;
}

/** `d`/`L`/`C` lines for everything under /var; file content moves to the factory tree. */
function varToTmpfiles(b: TreeBuilder, root: MutableTree, varDir: MutableTree): string[] {
  const lines: string[] = [];
  const octal = (m: number): string => (m & 0o7777).toString(8).padStart(4, "0");
  const walk = (d: MutableTree, rel: string): void => {
    const { files, dirs } = d.entries();
    for (const name of [...dirs.keys()].sort()) {
      const sub = dirs.get(name)!;
      const m = b.dirmetaOf(sub.meta!);
      lines.push(`d /var${rel}/${name} ${octal(m.mode)} ${m.uid} ${m.gid} - -`);
      walk(sub, `${rel}/${name}`);
    }
    for (const name of [...files.keys()].sort()) {
      const cs = files.get(name)!;
      const h = b.headerOf(cs);
      const path = `/var${rel}/${name}`;
      if (isLnk(h.mode)) {
        lines.push(`L ${path} - - - - ${h.symlinkTarget}`);
        continue;
      }
      const factory = ensurePath(b, root, [
        "usr",
        "share",
        "factory",
        "var",
        ...rel.split("/").filter(Boolean),
      ]);
      factory.replaceFile(name, cs);
      lines.push(`C ${path} - - - - /usr/share/factory${path}`);
    }
  };
  walk(varDir, "");
  return lines;
}

/**
 * Apply the OSTree postprocess to `root` in place.
 * @throws ArborError MANIFEST (the tree has both /etc and /usr/etc with content), BAD_NAME
 */
export async function postprocessOstree(b: TreeBuilder, root: MutableTree): Promise<PostprocessReport> {
  const kernel = moveKernel(b, root);

  const etc = root.getDir("etc");
  if (etc) {
    const usr = ensurePath(b, root, ["usr"]);
    const usrEtc = usr.getDir("etc");
    if (usrEtc) overlayTree(usr.ensureDir("etc"), etc);
    else usr.replaceDir("etc", etc);
    root.remove("etc");
  }

  const varDir = ensurePath(b, root, ["var"]);
  const linked: string[] = [];
  for (const [top, under] of VAR_LINKS) {
    const d = root.getDir(top);
    if (root.getFile(top) !== undefined && !d) continue; // already a symlink (or file): leave it
    if (d) {
      const existing = varDir.getDir(under);
      if (existing) overlayTree(varDir.ensureDir(under), d);
      else varDir.replaceDir(under, d);
      root.remove(top);
    } else if (!varDir.getDir(under)) {
      varDir.ensureDir(under).meta = b.dirmeta({ ...ROOT_DIR, mode: top === "root" ? 0o700 : 0o755 });
    }
    await symlink(b, root, top, `var/${under}`);
    linked.push(top);
  }
  const lines = varToTmpfiles(b, root, varDir);
  for (const n of [...varDir.entries().files.keys(), ...varDir.entries().dirs.keys()]) varDir.remove(n);
  if (lines.length) {
    const text = `# Generated by arbor compose: the image's /var content, created at boot.\n${lines.join("\n")}\n`;
    const cs = await b.content(
      { uid: 0, gid: 0, mode: S_IFREG | 0o644, symlinkTarget: "", xattrs: [] },
      new TextEncoder().encode(text),
    );
    ensurePath(b, root, ["usr", "lib", "tmpfiles.d"]).replaceFile("arbor-var.conf", cs);
  }

  if (!root.getDir("sysroot")) {
    if (root.getFile("sysroot") !== undefined)
      throw new ArborError("MANIFEST", 'Cannot postprocess: "/sysroot" is a file');
    root.ensureDir("sysroot").meta = b.dirmeta(ROOT_DIR);
  }
  if (root.getFile("ostree") === undefined && !root.getDir("ostree"))
    await symlink(b, root, "ostree", "sysroot/ostree");
  return { kernel, linked, tmpfiles: lines.length };
}
