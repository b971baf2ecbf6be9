/**
 * Deriving a deployment's commit from its declared inputs: base image ⊕ layers.
 *
 * The invariant (anti-hysteresis): a deployment's tree is a pure function of the base commit, the
 * layer commits and the declared priority; nothing of an earlier deployment is carried. The
 * derived commit records those inputs (`arbor.base`, `arbor.layers` as `a(ss)` name → commit,
 * `arbor.layer-priority`), keeps the base's metadata (version, ostree.linux…; not its ref
 * bindings), has no parent and the base's timestamp, so its checksum depends on the inputs only
 * and `admin verify` can recompute it.
 *
 * Layers see the machine's view of the tree: a layer's `etc/` lands in `usr/etc/` (the image
 * default the deployment's /etc is made from; the /etc merge then carries local edits). Directory
 * metadata of the base wins; whiteouts (`.wh.NAME`, `.wh..wh..opq`) delete from what is below.
 * Two layers that put different things at one path are a conflict, refused unless the declared
 * priority names a winner.
 */
import { sha256Hex } from "../core/checksum.js";
import { type Commit, encodeCommit, lookup, type VarDict } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { Variant } from "../gvariant/serialize.js";
import type { KeyFile } from "../repo/config.js";
import { MutableTree } from "../repo/mutable-tree.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { derivedInputs, type LayerRef, readLayerDecl, resolveLayers } from "./layers.js";
import { type LayerEntry, layerEntries, overlayTree } from "./overlay.js";
import { TreeBuilder } from "./tree-builder.js";

/** One path two or more layers disagree about. */
export interface LayerConflict {
  path: string;
  layers: string[];
  /** The layer whose version is used (null: unresolved). */
  winner: string | null;
}

/** Options for {@link deriveDeploymentCommit}. */
export interface DeriveOptions {
  /** Layer names that win conflicts, highest first. */
  priority?: readonly string[];
  /** Hash only; write nothing. */
  dryRun?: boolean;
  /** Repository holding the base commit when it is not (yet) in the sysroot's (upgrade --check). */
  baseRepo?: Repo;
}

/** The result of a derivation. */
export interface DeriveResult {
  /** The commit to deploy: the base itself when no layers are declared. */
  commit: string;
  base: string;
  layers: LayerRef[];
  conflicts: LayerConflict[];
  written: boolean;
  /** The derived root tree (for diffs; in memory for a dry run). */
  tree: MutableTree;
}

/** Load a layer commit's tree, its `etc/` moved to `usr/etc/` (the machine view of a layer). */
export function layerTree(b: TreeBuilder, repo: Repo, l: LayerRef): MutableTree {
  const c = repo.loadCommit(l.commit);
  const t = MutableTree.fromRepo(repo, c.rootTree, c.rootMeta);
  const etc = t.getDir("etc");
  if (etc) {
    t.remove("etc");
    const usr = t.getDir("usr")
      ? t.ensureDir("usr")
      : t.ensureDir("usr", b.dirmeta({ uid: 0, gid: 0, mode: 0o755, xattrs: [] }));
    if (usr.getDir("etc")) overlayTree(usr.ensureDir("etc"), etc, { whiteouts: true, keepDirMeta: true });
    else usr.replaceDir("etc", etc);
  }
  return t;
}

/** Conflicting paths between layers, with the winner the priority gives (if any). */
export function findConflicts(
  entries: ReadonlyArray<{ name: string; entries: Map<string, LayerEntry> }>,
  priority: readonly string[],
): LayerConflict[] {
  const byPath = new Map<string, Array<{ name: string; e: LayerEntry }>>();
  for (const l of entries) {
    for (const [p, e] of l.entries) {
      const list = byPath.get(p) ?? [];
      if (list.length === 0) byPath.set(p, list);
      list.push({ name: l.name, e });
    }
  }
  const out: LayerConflict[] = [];
  for (const [path, list] of byPath) {
    if (list.length < 2 || list.every((x) => x.e === list[0]!.e)) continue;
    const names = [...new Set(list.map((x) => x.name))];
    const ranked = names
      .filter((n) => priority.includes(n))
      .sort((a, b) => priority.indexOf(a) - priority.indexOf(b));
    out.push({ path, layers: names, winner: ranked[0] ?? null });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Layers in application order: unprioritized as declared, then prioritized lowest first (last wins). */
export function applicationOrder(layers: readonly LayerRef[], priority: readonly string[]): LayerRef[] {
  const plain = layers.filter((l) => !priority.includes(l.name));
  const ranked = layers
    .filter((l) => priority.includes(l.name))
    .sort((a, b) => priority.indexOf(b.name) - priority.indexOf(a.name));
  return [...plain, ...ranked];
}

/**
 * Derive the commit a deployment of `base` with `layers` should have (and write it, unless
 * `dryRun`). With no layers the result is `base` itself.
 * @example const r = await deriveDeploymentCommit(sysroot, base, ["ssh"], {}); deployTree(…r.commit…)
 * @throws ArborError CONFLICT (layers disagree about a path; `data.conflicts`), NOT_FOUND (an
 *   undeclared layer name), USAGE (base is itself derived), OBJECT_NOT_FOUND
 */
export async function deriveDeploymentCommit(
  sysroot: Sysroot | Repo,
  base: string,
  layers: ReadonlyArray<string | LayerRef>,
  o: DeriveOptions = {},
): Promise<DeriveResult> {
  const repo = "repo" in sysroot && typeof sysroot.repo === "function" ? sysroot.repo() : (sysroot as Repo);
  const baseRepo = o.baseRepo ?? repo;
  const refs = layers.map((l) => (typeof l === "string" ? resolveLayers(repo, [l])[0]! : l));
  const bc = baseRepo.loadCommit(base);
  if (derivedInputs(baseRepo, base)) {
    throw new ArborError(
      "USAGE",
      `Cannot derive from ${base}: it is itself a derived commit (use its arbor.base)`,
    );
  }
  const baseTree = MutableTree.fromRepo(baseRepo, bc.rootTree, bc.rootMeta);
  if (refs.length === 0)
    return { commit: base, base, layers: [], conflicts: [], written: false, tree: baseTree };

  const priority = o.priority ?? [];
  const tx = o.dryRun ? null : await Transaction.begin(repo);
  try {
    const b = new TreeBuilder(repo, tx);
    if (baseRepo !== repo) b.repos.push(baseRepo);
    const trees = refs.map((l) => ({ l, tree: layerTree(b, repo, l) }));
    const conflicts = findConflicts(
      trees.map(({ l, tree }) => ({ name: l.name, entries: layerEntries(tree) })),
      priority,
    );
    const unresolved = conflicts.filter((c) => c.winner === null);
    if (unresolved.length) {
      const shown = unresolved
        .slice(0, 5)
        .map((c) => `"${c.path}" (${c.layers.map((n) => `"${n}"`).join(", ")})`)
        .join(", ");
      const more = unresolved.length > 5 ? ` and ${unresolved.length - 5} more` : "";
      throw new ArborError(
        "CONFLICT",
        `Layers write different content to the same path: ${shown}${more}; say which wins with --layer-priority=NAME[,NAME…]`,
        { data: { conflicts: unresolved } },
      );
    }
    const byName = new Map(trees.map((x) => [x.l.name, x.tree]));
    for (const l of applicationOrder(refs, priority)) {
      overlayTree(baseTree, byName.get(l.name)!, { whiteouts: true, keepDirMeta: true });
    }
    const root = b.finish(baseTree);
    const metadata: VarDict = bc.metadata.filter(
      ([k]) => k !== "ostree.ref-binding" && k !== "ostree.collection-binding",
    );
    metadata.push(["arbor.base", new Variant("s", base)]);
    metadata.push([
      "arbor.layers",
      new Variant(
        "a(ss)",
        refs.map((l) => [l.name, l.commit]),
      ),
    ]);
    if (priority.length) metadata.push(["arbor.layer-priority", new Variant("as", [...priority])]);
    const version = lookup(bc.metadata, "version");
    const commit: Commit = {
      metadata,
      parent: null,
      related: [],
      subject: `${version instanceof Variant ? `${String(version.value)} ` : ""}+ layers ${refs.map((l) => l.name).join(", ")}`,
      body: "",
      timestamp: bc.timestamp,
      rootTree: root.tree,
      rootMeta: root.meta,
    };
    const bytes = encodeCommit(commit);
    let cs: string;
    if (tx) {
      cs = tx.writeMetadata("commit", bytes);
      await tx.commit();
    } else cs = sha256Hex(bytes);
    return { commit: cs, base, layers: refs, conflicts, written: tx !== null, tree: baseTree };
  } catch (e) {
    await tx?.abort();
    throw e;
  }
}

/**
 * The upgrade hook: the commit to deploy for a new `base` given a deployment origin (derived when
 * the origin declares layers, else `base`).
 * @throws as {@link deriveDeploymentCommit}
 */
export async function deriveForOrigin(
  sysroot: Sysroot,
  base: string,
  origin: KeyFile | null,
): Promise<string> {
  const decl = readLayerDecl(origin);
  if (decl.layers.length === 0) return base;
  return (await deriveDeploymentCommit(sysroot, base, decl.layers, { priority: decl.priority })).commit;
}

/** The {@link import("../sysroot/upgrade.js").DeriveHook} `admin upgrade` uses. */
export const deriveHook = {
  baseOf: (repo: Repo, commit: string): string => derivedInputs(repo, commit)?.base ?? commit,
  derive: deriveForOrigin,
};
