/**
 * Changing a machine's declared layers: every change makes a new deployment whose commit is
 * derived afresh from the merge deployment's base image and the new layer list (never a patch of
 * the running tree), with the usual /etc merge and /var kept. Layer refs no deployment declares
 * any more are deleted afterwards, so the next cleanup prunes their objects.
 */
import { ArborError } from "../errors.js";
import { KeyFile } from "../repo/config.js";
import { listRefs } from "../repo/refs.js";
import { deployTree } from "../sysroot/deploy.js";
import type { Deployment } from "../sysroot/deployment.js";
import { cloneOrigin, removeTransientState } from "../sysroot/origin.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { simpleWriteDeployment } from "../sysroot/write-list.js";
import { type DeriveResult, deriveDeploymentCommit } from "./derive.js";
import {
  baseOf,
  LAYER_REF_PREFIX,
  type LayerDecl,
  readLayerDecl,
  setLayerRef,
  writeLayerDecl,
} from "./layers.js";

/** Options for {@link redeployWithLayers}. */
export interface RedeployOptions {
  /** Stateroot; default the booted one. */
  osname?: string;
  onMessage?: (line: string) => void;
  onNote?: (line: string) => void;
}

/**
 * The deployment whose base, origin and /etc a layer change starts from.
 * @throws ArborError SYSROOT (no deployment of that stateroot, or no stateroot given when not booted)
 */
export function layerMergeDeployment(sysroot: Sysroot, osname?: string): Deployment {
  if (osname === undefined && !sysroot.booted) {
    throw new ArborError("SYSROOT", "Not currently booted into an OSTree system and no --os= argument given");
  }
  const merge = sysroot.mergeDeployment(osname);
  if (!merge) throw new ArborError("SYSROOT", `No deployment of stateroot "${osname}" to change`);
  return merge;
}

/** The current declaration of the merge deployment. */
export function currentDecl(sysroot: Sysroot, osname?: string): LayerDecl {
  return readLayerDecl(layerMergeDeployment(sysroot, osname).origin);
}

/**
 * Deploy the merge deployment's base with `decl` as the new default deployment. The sysroot must
 * be locked; it is reloaded afterwards.
 * @throws ArborError CONFLICT (layers disagree), SYSROOT, and what deploying throws.
 */
export async function redeployWithLayers(
  sysroot: Sysroot,
  decl: LayerDecl,
  o: RedeployOptions = {},
): Promise<{ deployment: Deployment; derived: DeriveResult }> {
  const merge = layerMergeDeployment(sysroot, o.osname);
  const repo = sysroot.repo();
  const origin = merge.origin ? cloneOrigin(merge.origin) : new KeyFile();
  removeTransientState(origin);
  writeLayerDecl(origin, decl);
  const base = baseOf(repo, merge.csum);
  const derived = await deriveDeploymentCommit(sysroot, base, decl.layers, { priority: decl.priority });
  const d = await deployTree(sysroot, {
    osname: merge.osname,
    revision: derived.commit,
    origin,
    merge,
    ...(o.onMessage ? { onMessage: o.onMessage } : {}),
    ...(o.onNote ? { onNote: o.onNote } : {}),
  });
  await simpleWriteDeployment(
    sysroot,
    merge.osname,
    d,
    merge,
    {},
    o.onMessage ? { onMessage: o.onMessage } : {},
  );
  sysroot.reload();
  await dropUnusedLayerRefs(sysroot);
  return { deployment: d, derived };
}

/** Delete `arbor/layers/*` refs that no deployment's origin declares. */
export async function dropUnusedLayerRefs(sysroot: Sysroot): Promise<string[]> {
  const used = new Set<string>();
  for (const d of sysroot.deployments) for (const n of readLayerDecl(d.origin).layers) used.add(n);
  const dropped: string[] = [];
  for (const r of listRefs(sysroot.repo(), { kind: "heads" })) {
    if (!r.name.startsWith(LAYER_REF_PREFIX)) continue;
    const name = r.name.slice(LAYER_REF_PREFIX.length);
    if (used.has(name)) continue;
    await setLayerRef(sysroot.repo(), name, null);
    dropped.push(name);
  }
  return dropped;
}

/** Options for {@link addLayer}. */
export interface AddLayerOptions extends RedeployOptions {
  /** New conflict priority (highest first); default: keep the declared one. */
  priority?: string[];
  /** Replace the content of a layer that is already declared. */
  replace?: boolean;
  signal?: AbortSignal;
}

/**
 * Store `source` as layer `name`, declare it (last in application order) and deploy. If deploying
 * fails (a conflict, say), the layer ref is put back as it was.
 * @throws ArborError EXISTS (declared already, without `replace`), CONFLICT, and as {@link redeployWithLayers}
 */
export async function addLayer(
  sysroot: Sysroot,
  name: string,
  source: import("./layers.js").LayerSource,
  o: AddLayerOptions = {},
): Promise<{ deployment: Deployment; derived: DeriveResult; commit: string }> {
  const { storeLayer } = await import("./layers.js");
  const decl = currentDecl(sysroot, o.osname);
  const declared = decl.layers.includes(name);
  if (declared && !o.replace) {
    throw new ArborError(
      "EXISTS",
      `Layer "${name}" is already declared; use --replace to change its content`,
    );
  }
  const stored = await storeLayer(sysroot.repo(), name, source, o.signal ? { signal: o.signal } : {});
  const next: LayerDecl = {
    layers: declared ? decl.layers : [...decl.layers, name],
    priority: o.priority ?? decl.priority,
  };
  try {
    const r = await redeployWithLayers(sysroot, next, o);
    return { ...r, commit: stored.commit };
  } catch (e) {
    await setLayerRef(sysroot.repo(), name, stored.previous);
    throw e;
  }
}

/**
 * Stop declaring layer `name` and deploy without it.
 * @throws ArborError NOT_FOUND (not declared), and as {@link redeployWithLayers}
 */
export async function removeLayer(
  sysroot: Sysroot,
  name: string,
  o: RedeployOptions = {},
): Promise<{ deployment: Deployment; derived: DeriveResult }> {
  const decl = currentDecl(sysroot, o.osname);
  if (!decl.layers.includes(name)) throw new ArborError("NOT_FOUND", `Layer "${name}" is not declared`);
  return redeployWithLayers(
    sysroot,
    { layers: decl.layers.filter((n) => n !== name), priority: decl.priority.filter((n) => n !== name) },
    o,
  );
}
