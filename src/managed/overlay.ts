/**
 * Layering trees: `dst ⊕ src`, path by path. Files of `src` replace what `dst` has at their path;
 * directories merge; with whiteouts, `.wh.NAME` in `src` deletes NAME from `dst` and
 * `.wh..wh..opq` empties the directory of everything `dst` had (the OCI image-spec rules). Whiteout
 * markers themselves never reach the result.
 */
import { MutableTree } from "../repo/mutable-tree.js";

/** The OCI opaque-directory marker. */
export const OPAQUE = ".wh..wh..opq";

/** Options for {@link overlayTree}. */
export interface OverlayOptions {
  /** Apply `.wh.*` whiteouts (layers); otherwise `.wh.*` names are ordinary files. */
  whiteouts?: boolean;
  /**
   * Keep the metadata of directories `dst` already has (machine layers must not change the
   * image's `/`, `/usr`… because the layer's folder happened to be mode 0700); otherwise a
   * directory takes the metadata of the last tree that has it (compose inputs).
   */
  keepDirMeta?: boolean;
}

function hasWhiteouts(t: MutableTree): boolean {
  const { files, dirs } = t.entries();
  for (const n of files.keys()) if (n.startsWith(".wh.")) return true;
  for (const d of dirs.values()) if (hasWhiteouts(d)) return true;
  return false;
}

/** A copy of `t` without whiteout markers (for directories new to `dst`). */
function stripWhiteouts(t: MutableTree): MutableTree {
  const out = new MutableTree();
  out.meta = t.meta;
  const { files, dirs } = t.entries();
  for (const [n, cs] of files) if (!n.startsWith(".wh.")) out.replaceFile(n, cs);
  for (const [n, d] of dirs) out.replaceDir(n, hasWhiteouts(d) ? stripWhiteouts(d) : d);
  return out;
}

/**
 * Layer `src` onto `dst` in place.
 * @example overlayTree(root, layer, { whiteouts: true }) // layer's .wh.motd deletes root's motd
 */
export function overlayTree(dst: MutableTree, src: MutableTree, o: OverlayOptions = {}): void {
  if (!o.keepDirMeta || !dst.meta) dst.meta = src.meta;
  const { files, dirs } = src.entries();
  if (o.whiteouts) {
    if (files.has(OPAQUE)) {
      const existing = dst.entries();
      for (const n of [...existing.files.keys(), ...existing.dirs.keys()]) dst.remove(n);
    }
    for (const n of files.keys()) {
      if (n.startsWith(".wh.") && n !== OPAQUE) dst.remove(n.slice(4));
    }
  }
  for (const [name, cs] of files) {
    if (o.whiteouts && name.startsWith(".wh.")) continue;
    dst.replaceFile(name, cs);
  }
  for (const [name, sub] of dirs) {
    const existing = dst.getDir(name);
    if (!existing) {
      dst.replaceDir(name, o.whiteouts && hasWhiteouts(sub) ? stripWhiteouts(sub) : sub);
      continue;
    }
    overlayTree(dst.ensureDir(name), sub, o);
  }
}

/** One entry of a layer, for conflict detection: a directory, a file (checksum) or a whiteout. */
export type LayerEntry = "dir" | "whiteout" | "opaque" | `file:${string}`;

/** Every path a layer touches (absolute, `/usr/etc/x`) and what it puts there. */
export function layerEntries(t: MutableTree, prefix = ""): Map<string, LayerEntry> {
  const out = new Map<string, LayerEntry>();
  const walk = (d: MutableTree, p: string): void => {
    const { files, dirs } = d.entries();
    for (const [n, cs] of files) {
      if (n === OPAQUE) out.set(p || "/", "opaque");
      else if (n.startsWith(".wh.")) out.set(`${p}/${n.slice(4)}`, "whiteout");
      else out.set(`${p}/${n}`, `file:${cs}`);
    }
    for (const [n, sub] of dirs) {
      if (!out.has(`${p}/${n}`)) out.set(`${p}/${n}`, "dir");
      walk(sub, `${p}/${n}`);
    }
  };
  walk(t, prefix);
  return out;
}
