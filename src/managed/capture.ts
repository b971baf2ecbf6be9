/**
 * `admin drift capture --layer NAME [PATH…]`: turn chosen drift into declared state. The drifted
 * entries (all /etc and image drift, or those at or under the given paths) are copied from the
 * deployment — with owner, mode and xattrs — into layer NAME (added to its existing content when
 * it is already declared); removals become whiteouts. Then base ⊕ layers is deployed, after which
 * `drift` reports those paths as declared. /var content cannot be captured (a layer never writes
 * /var; declare it in /etc/arbor/var-allowlist or a tmpfiles.d entry), nor can repository
 * corruption (repair the repository: `ostree fsck --delete`, then pull again).
 */
import {
  chmodSync,
  cpSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { ArborError } from "../errors.js";
import { native } from "../io/native.js";
import { checkoutTree } from "../repo/checkout.js";
import { readRef } from "../repo/refs.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { type DriftReport, detectDrift } from "./drift.js";
import type { DriftItem } from "./drift-image.js";
import { addLayer, currentDecl, layerMergeDeployment, type RedeployOptions } from "./layer-deploy.js";
import { layerRef, validateLayerName } from "./layers.js";

/** Options for {@link captureDrift}. */
export interface CaptureOptions extends RedeployOptions {
  /** Paths (absolute, e.g. `/etc/ssh`) to capture: drift at or under them. Default: all. */
  paths?: string[];
  signal?: AbortSignal;
}

/** What {@link captureDrift} did. */
export interface CaptureResult {
  layer: string;
  commit: string;
  deployment: string;
  captured: DriftItem[];
}

const under = (p: string, prefix: string): boolean =>
  prefix === "/" || p === prefix || p.startsWith(`${prefix.replace(/\/+$/, "")}/`);

/** Create `rel`'s parent directories in `dest` with the attributes of the deployment's. */
function ensureParents(root: string, dest: string, rel: string): void {
  const parts = rel.split("/").filter(Boolean).slice(0, -1);
  let cur = "";
  for (const p of parts) {
    cur = cur ? `${cur}/${p}` : p;
    const target = join(dest, cur);
    try {
      lstatSync(target);
      continue;
    } catch {}
    mkdirSync(target);
    const st = lstatSync(join(root, cur));
    lchownSync(target, st.uid, st.gid);
    chmodSync(target, st.mode & 0o7777);
  }
}

function selectItems(report: DriftReport, paths: readonly string[] | undefined): DriftItem[] {
  const all = [...report.etc, ...report.image];
  if (!paths || paths.length === 0) return all;
  for (const p of paths) {
    if (under(p, "/var") && p !== "/") {
      throw new ArborError(
        "USAGE",
        `Cannot capture "${p}": /var is machine state; declare it in /etc/arbor/var-allowlist or a tmpfiles.d entry`,
      );
    }
    if (report.corruption.some((c) => under(c.path, p))) {
      throw new ArborError(
        "USAGE",
        `Cannot capture "${p}": its repository object is corrupt; repair the repository (ostree fsck --delete, then pull) first`,
      );
    }
  }
  const picked = all.filter((i) => paths.some((p) => under(i.path, p)));
  if (picked.length === 0)
    throw new ArborError("NOT_FOUND", `No drift at ${paths.map((p) => `"${p}"`).join(", ")} to capture`);
  return picked;
}

/**
 * Capture drift of the merge deployment into layer `name` and deploy.
 * @throws ArborError NOT_FOUND (nothing to capture), USAGE (/var or corrupt paths), CONFLICT, and as deploying
 */
export async function captureDrift(
  sysroot: Sysroot,
  name: string,
  o: CaptureOptions = {},
): Promise<CaptureResult> {
  validateLayerName(name);
  const d = layerMergeDeployment(sysroot, o.osname);
  const report = await detectDrift(sysroot, d, o.signal ? { signal: o.signal } : {});
  const items = selectItems(report, o.paths);
  if (items.length === 0) throw new ArborError("NOT_FOUND", "No /etc or image drift to capture");
  const root = sysroot.deploymentPath(d);
  const work = mkdtempSync(join(tmpdir(), "arbor-capture-"));
  try {
    const declared = currentDecl(sysroot, o.osname).layers.includes(name);
    const existing = readRef(sysroot.repo(), layerRef(name));
    if (declared && existing)
      await checkoutTree(sysroot.repo(), { rev: existing, dest: join(work, "layer"), forceCopy: true });
    else mkdirSync(join(work, "layer"));
    const dest = join(work, "layer");
    for (const item of items) {
      const rel = item.path.slice(1);
      ensureParents(root, dest, rel);
      const whiteout = join(dest, dirname(rel), `.wh.${rel.split("/").pop()}`);
      rmSync(join(dest, rel), { recursive: true, force: true });
      rmSync(whiteout, { force: true });
      if (item.change === "removed") writeFileSync(whiteout, "");
      else
        cpSync(join(root, rel), join(dest, rel), {
          recursive: true,
          preserveTimestamps: false,
          verbatimSymlinks: true,
          dereference: false,
        });
      if (item.change !== "removed") copyAttrs(join(root, rel), join(dest, rel));
    }
    const r = await addLayer(sysroot, name, { kind: "dir", path: dest }, { ...o, replace: declared });
    return {
      layer: name,
      commit: r.commit,
      deployment: `${r.deployment.csum}.${r.deployment.deployserial}`,
      captured: items,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Owner, mode and xattrs of `src` onto `dest`, recursively (cpSync keeps only modes). */
function copyAttrs(src: string, dest: string): void {
  const st = lstatSync(src);
  lchownSync(dest, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(dest, st.mode & 0o7777);
  const n = native();
  for (const x of n.llistxattr(src)) {
    const v = n.lgetxattr(src, x);
    if (v !== null) n.lsetxattr(dest, x, v);
  }
  if (st.isDirectory()) for (const c of readdirSync(src)) copyAttrs(join(src, c), join(dest, c));
}
