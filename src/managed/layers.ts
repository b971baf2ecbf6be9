/**
 * Declared layers on a machine: named commits in the sysroot repository (`refs/heads/arbor/layers/NAME`)
 * listed, in application order, in a deployment's origin file:
 *
 * ```
 * [origin]
 * refspec=remote:os/stable
 *
 * [arbor]
 * layers=ssh-hardening;app-config;     (application order)
 * layer-priority=app-config;            (who wins a conflict, highest first; optional)
 * ```
 * ostree ignores groups it does not know, so `ostree admin status` still reads such a sysroot.
 */
import { lstatSync } from "node:fs";
import { lookup, type VarDict } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { Variant } from "../gvariant/serialize.js";
import type { KeyFile } from "../repo/config.js";
import { readRef, resolveRev } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";

/** The origin group holding arbor's declarations. */
export const ARBOR_GROUP = "arbor";
/** Ref prefix of layer commits. */
export const LAYER_REF_PREFIX = "arbor/layers/";

/** A layer as declared: its name and the commit it stands for. */
export interface LayerRef {
  name: string;
  commit: string;
}

/** What a deployment's origin declares. */
export interface LayerDecl {
  layers: string[];
  priority: string[];
}

/** @throws ArborError BAD_NAME unless `name` is 1–64 of `A-Za-z0-9._-`, not starting with `.` or `-`. */
export function validateLayerName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new ArborError(
      "BAD_NAME",
      `Invalid layer name "${name}": use letters, digits, ".", "_" and "-" (at most 64)`,
    );
  }
  return name;
}

/** The ref of layer `name`. */
export function layerRef(name: string): string {
  return `${LAYER_REF_PREFIX}${validateLayerName(name)}`;
}

/** The layers an origin declares (none when it has no `[arbor]` group). */
export function readLayerDecl(origin: KeyFile | null): LayerDecl {
  const layers = origin?.getList(ARBOR_GROUP, "layers") ?? [];
  const priority = origin?.getList(ARBOR_GROUP, "layer-priority") ?? [];
  for (const n of [...layers, ...priority]) validateLayerName(n);
  return { layers, priority };
}

/** Write the declaration into `origin` (removing the group when nothing is declared). */
export function writeLayerDecl(origin: KeyFile, d: LayerDecl): void {
  origin.removeGroup(ARBOR_GROUP);
  if (d.layers.length === 0) return;
  origin.setList(ARBOR_GROUP, "layers", d.layers);
  const prio = d.priority.filter((n) => d.layers.includes(n));
  if (prio.length) origin.setList(ARBOR_GROUP, "layer-priority", prio);
}

/**
 * The commit of each named layer, from its ref.
 * @throws ArborError NOT_FOUND naming a layer that has no commit.
 */
export function resolveLayers(repo: Repo, names: readonly string[]): LayerRef[] {
  return names.map((name) => {
    const commit = readRef(repo, layerRef(name));
    if (!commit)
      throw new ArborError(
        "NOT_FOUND",
        `Layer "${name}" is declared but has no commit (ref ${layerRef(name)})`,
      );
    return { name, commit };
  });
}

/** Where a layer comes from: a folder, a tarball, or a rev of the sysroot repository. */
export type LayerSource =
  | { kind: "dir"; path: string }
  | { kind: "tar"; path: string }
  | { kind: "ref"; rev: string };

/** A folder is a folder; an existing file is a tarball; anything else is a rev. */
export function classifyLayerSource(source: string): LayerSource {
  try {
    const st = lstatSync(source);
    if (st.isDirectory()) return { kind: "dir", path: source };
    if (st.isFile()) return { kind: "tar", path: source };
  } catch {}
  return { kind: "ref", rev: source };
}

/**
 * Commit a layer's content and point `arbor/layers/NAME` at it. The commit is reproducible (no
 * parent, timestamp 0, metadata `arbor.layer` = name), so the same content gives the same commit.
 * Whiteout files (`.wh.NAME`) are stored as they are and applied when deployments are derived.
 * @returns the layer commit and the commit the ref had before (null if none).
 * @throws ArborError BAD_NAME, NOT_FOUND (source), USAGE (a layer that writes /var), IO
 */
export async function storeLayer(
  repo: Repo,
  name: string,
  source: LayerSource,
  o: { signal?: AbortSignal } = {},
): Promise<{ commit: string; previous: string | null }> {
  // loaded here, not at the top: `admin drift` and `layer list` read layers without writing any
  const { Transaction } = await import("../repo/transaction.js");
  const { importDir, importRef, importTarball } = await import("./sources.js");
  const { TreeBuilder } = await import("./tree-builder.js");
  const ref = layerRef(name);
  const previous = readRef(repo, ref);
  const tx = await Transaction.begin(repo, o.signal ? { signal: o.signal } : {});
  try {
    const b = new TreeBuilder(repo, tx, undefined, o.signal);
    const tree =
      source.kind === "dir"
        ? await importDir(b, source.path, o.signal ? { signal: o.signal } : {})
        : source.kind === "tar"
          ? await importTarball(b, source.path)
          : importRef(b, resolveRev(repo, source.rev)!).tree;
    tree.meta ??= b.dirmeta({ uid: 0, gid: 0, mode: 0o755, xattrs: [] });
    if (tree.getDir("var") || tree.getFile("var") !== undefined) {
      throw new ArborError(
        "USAGE",
        `Cannot add layer "${name}": it writes /var, which is machine state; declare /var content with a tmpfiles.d entry in etc/tmpfiles.d/ instead`,
      );
    }
    const root = b.finish(tree);
    const metadata: VarDict = [["arbor.layer", new Variant("s", name)]];
    const { encodeCommit } = await import("../core/metadata.js");
    const bytes = encodeCommit({
      metadata,
      parent: null,
      related: [],
      subject: `arbor layer ${name}`,
      body: "",
      timestamp: 0,
      rootTree: root.tree,
      rootMeta: root.meta,
    });
    const commit = tx.writeMetadata("commit", bytes);
    tx.setRef(ref, commit);
    await tx.commit();
    return { commit, previous };
  } catch (e) {
    await tx.abort();
    throw e;
  }
}

/** Point (or delete, with null) a layer's ref. */
export async function setLayerRef(repo: Repo, name: string, commit: string | null): Promise<void> {
  const { Transaction } = await import("../repo/transaction.js");
  const tx = await Transaction.begin(repo);
  tx.setRef(layerRef(name), commit);
  await tx.commit();
}

/** The inputs a derived commit records (`arbor.base`, `arbor.layers`), or null for a plain commit. */
export function derivedInputs(
  repo: Repo,
  commit: string,
): { base: string; layers: LayerRef[]; priority: string[] } | null {
  const md = repo.loadCommit(commit).metadata;
  const base = lookup(md, "arbor.base");
  if (!(base instanceof Variant) || base.type !== "s") return null;
  const layers = lookup(md, "arbor.layers");
  const prio = lookup(md, "arbor.layer-priority");
  return {
    base: base.value as string,
    layers:
      layers instanceof Variant
        ? (layers.value as string[][]).map(([name, c]) => ({ name: name!, commit: c! }))
        : [],
    priority: prio instanceof Variant ? (prio.value as string[]) : [],
  };
}

/** The base image commit of a deployed commit: `arbor.base` for a derived commit, else itself. */
export function baseOf(repo: Repo, commit: string): string {
  return derivedInputs(repo, commit)?.base ?? commit;
}
