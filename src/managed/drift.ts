/**
 * `admin drift`: everything on a deployment that differs from what was declared for it
 * (docs/managed.md, "Drift"). Four kinds of finding:
 *  - `etc`: /etc entries differing from the image default `usr/etc`, which for a derived
 *    deployment includes the declared layers; a change to a layer-provided path names the layer;
 *  - `image`: files outside /etc and /var differing from the deployed commit;
 *  - `corruption`: hardlinked repository objects whose content changed (every deployment sharing
 *    them is affected; `ostree fsck` will agree);
 *  - `var`: /var content that neither the image's tmpfiles.d nor the admin's allowlist declares;
 * plus an `admin unlock` overlay in effect. Paths the declared layers provide are listed as
 * `declared` (not drift).
 */
import { join } from "node:path";
import type { Deployment } from "../sysroot/deployment.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { compareEtc } from "./drift-etc.js";
import { compareImage, type DriftItem } from "./drift-image.js";
import { derivedInputs, type LayerRef } from "./layers.js";
import { undeclaredVar, VarDeclarations } from "./tmpfiles.js";

/** A path a declared layer provides. */
export interface DeclaredPath {
  path: string;
  layer: string;
  /** `file` (content provided) or `whiteout` (the layer deletes it). */
  kind: "file" | "whiteout";
}

/** The result of {@link detectDrift}. Serialized as-is in `--json` (kind `DriftReport`). */
export interface DriftReport {
  stateroot: string;
  /** `CSUM.SERIAL`. */
  deployment: string;
  index: number;
  commit: string;
  /** The base image (the commit itself when not derived). */
  base: string;
  layers: LayerRef[];
  mode: "quick" | "content";
  /** `admin unlock` state: anything but "none" means /usr may carry an overlay of changes. */
  unlocked: Deployment["unlocked"];
  etc: DriftItem[];
  image: DriftItem[];
  corruption: DriftItem[];
  var: string[];
  declared: DeclaredPath[];
  /** Entries of the image compared. */
  checked: number;
  clean: boolean;
}

/** Options for {@link detectDrift}. */
export interface DriftOptions {
  /** Compare metadata and inode identity only (no file data is read). */
  quick?: boolean;
  signal?: AbortSignal;
}

/** Paths the layers of a derived deployment provide, with the layer that wins each. */
export async function declaredPaths(
  sysroot: Sysroot,
  layers: readonly LayerRef[],
  priority: readonly string[],
): Promise<DeclaredPath[]> {
  if (layers.length === 0) return [];
  // loaded only for derived deployments: a plain one needs none of the tree-building code
  const { applicationOrder, layerTree } = await import("./derive.js");
  const { layerEntries } = await import("./overlay.js");
  const { TreeBuilder } = await import("./tree-builder.js");
  const repo = sysroot.repo();
  const b = new TreeBuilder(repo, null);
  const winner = new Map<string, DeclaredPath>();
  for (const l of applicationOrder(layers, priority)) {
    if (!repo.hasObject("commit", l.commit)) continue;
    for (const [p, e] of layerEntries(layerTree(b, repo, l))) {
      if (e === "dir" || e === "opaque") continue;
      const path = p.startsWith("/usr/etc/") ? `/etc/${p.slice("/usr/etc/".length)}` : p;
      winner.set(path, { path, layer: l.name, kind: e === "whiteout" ? "whiteout" : "file" });
    }
  }
  return [...winner.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The deployment's /var: the live /var when it is booted, else its stateroot's. */
export function deploymentVarDir(sysroot: Sysroot, d: Deployment): string {
  if (
    sysroot.isBooted &&
    sysroot.booted &&
    sysroot.booted.csum === d.csum &&
    sysroot.booted.deployserial === d.deployserial
  ) {
    return "/var";
  }
  return sysroot.abs(`ostree/deploy/${d.osname}/var`);
}

/**
 * Find everything that differs from what was declared for deployment `d`.
 * @throws ArborError OBJECT_NOT_FOUND (the deployed commit is gone), IO, ABORTED
 */
export async function detectDrift(
  sysroot: Sysroot,
  d: Deployment,
  o: DriftOptions = {},
): Promise<DriftReport> {
  const repo = sysroot.repo();
  const root = sysroot.deploymentPath(d);
  const inputs = derivedInputs(repo, d.csum);
  const layers = inputs?.layers ?? [];
  const declared = await declaredPaths(sysroot, layers, inputs?.priority ?? []);
  const byPath = new Map(declared.map((x) => [x.path, x.layer]));
  const etc = compareEtc(join(root, "usr/etc"), join(root, "etc"), { quick: !!o.quick });
  for (const item of etc) {
    const layer = byPath.get(item.path);
    if (layer !== undefined) item.layer = layer;
  }
  const image = await compareImage(repo, d.csum, root, {
    quick: !!o.quick,
    ...(o.signal ? { signal: o.signal } : {}),
  });
  const varItems = undeclaredVar(deploymentVarDir(sysroot, d), VarDeclarations.load(root));
  const report: DriftReport = {
    stateroot: d.osname,
    deployment: `${d.csum}.${d.deployserial}`,
    index: d.index,
    commit: d.csum,
    base: inputs?.base ?? d.csum,
    layers,
    mode: o.quick ? "quick" : "content",
    unlocked: d.unlocked,
    etc,
    image: image.items,
    corruption: image.corrupt,
    var: varItems,
    declared,
    checked: image.checked,
    clean: false,
  };
  report.clean =
    etc.length === 0 &&
    image.items.length === 0 &&
    image.corrupt.length === 0 &&
    varItems.length === 0 &&
    d.unlocked === "none";
  return report;
}
