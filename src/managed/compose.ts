/**
 * `compose`: build an OS image commit from a manifest's declared inputs, reproducibly.
 *
 * The invariant this module owns: the commit checksum is a function of the manifest and the
 * *content* of its inputs only. Inputs are imported in order into one in-memory tree (later wins,
 * directory metadata from the last input that has the directory), layers go on top with OCI
 * whiteouts, the OSTree postprocess runs, and the commit gets the manifest's
 * `source_date_epoch` as timestamp, no parent, and metadata in declaration order. Owners, modes
 * and xattrs are normalized as declared; mtimes, inode numbers and directory order never enter an
 * OSTree checksum. `dryRun` hashes everything and writes nothing.
 */
import { sha256Hex } from "../core/checksum.js";
import { type Commit, encodeCommit, type VarDict } from "../core/metadata.js";
import { ArborError, withContext } from "../errors.js";
import { Variant } from "../gvariant/serialize.js";
import { buildCommitMetadata } from "../repo/commit.js";
import { MutableTree } from "../repo/mutable-tree.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import type { Manifest, ManifestSource } from "./manifest.js";
import { overlayTree } from "./overlay.js";
import { type PostprocessReport, postprocessOstree } from "./postprocess.js";
import { importDir, importRef, importTarball } from "./sources.js";
import { TreeBuilder } from "./tree-builder.js";

/** Options for {@link composeImage}. */
export interface ComposeOptions {
  /** Hash only; write no object and move no ref. */
  dryRun?: boolean;
  signal?: AbortSignal;
  /** Progress lines (input being imported, mmdebstrap output). */
  onMessage?: (line: string) => void;
}

/** What {@link composeImage} produced. */
export interface ComposeResult {
  commit: string;
  ref: string;
  version: string;
  /** False for a dry run. */
  written: boolean;
  rootTree: string;
  files: number;
  bytes: number;
  /** Device nodes, fifos and sockets left out. */
  dropped: string[];
  postprocess: PostprocessReport | null;
}

function metadataVariant(key: string, v: string | number | boolean | string[]): Variant {
  if (typeof v === "string") return new Variant("s", v);
  if (typeof v === "boolean") return new Variant("b", v);
  if (Array.isArray(v)) return new Variant("as", v);
  if (Number.isInteger(v)) return new Variant("x", BigInt(v));
  if (Number.isFinite(v)) return new Variant("d", v);
  throw new ArborError("MANIFEST", `metadata.${key}: not a finite number`);
}

async function importSource(
  b: TreeBuilder,
  s: ManifestSource,
  o: ComposeOptions & { whiteouts: boolean; epoch: number },
): Promise<MutableTree> {
  switch (s.kind) {
    case "dir":
      return importDir(b, s.path, { whiteouts: o.whiteouts, ...(o.signal ? { signal: o.signal } : {}) });
    case "tar":
      return importTarball(b, s.path, { whiteouts: o.whiteouts });
    case "ref": {
      if (s.repo !== undefined && !o.dryRun) {
        // Objects of another repository must be in the target before a tree can reference them.
        const { Repo } = await import("../repo/repo.js");
        const { pullLocal } = await import("../repo/pull-local.js");
        const { resolveRev } = await import("../repo/refs.js");
        const src = Repo.open(s.repo);
        const cs = resolveRev(src, s.ref)!;
        await pullLocal(src, b.repo, { refs: [cs], ...(o.signal ? { signal: o.signal } : {}) });
        return importRef(b, cs).tree;
      }
      return importRef(b, s.ref, s.repo).tree;
    }
    case "debian": {
      const { bootstrapDebian } = await import("./debian.js");
      const built = await bootstrapDebian(s, {
        sourceDateEpoch: o.epoch,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.onMessage ? { onLine: (l: string) => o.onMessage?.(`mmdebstrap: ${l}`) } : {}),
      });
      try {
        return await importDir(b, built.path, { whiteouts: o.whiteouts });
      } finally {
        built.cleanup();
      }
    }
  }
}

function describe(s: ManifestSource): string {
  switch (s.kind) {
    case "dir":
      return `dir "${s.path}"`;
    case "tar":
      return `tar "${s.path}"`;
    case "ref":
      return `ref "${s.ref}"${s.repo ? ` of "${s.repo}"` : ""}`;
    case "debian":
      return `debian "${s.suite}" (${s.variant}${s.packages.length ? `, ${s.packages.join(" ")}` : ""})`;
  }
}

/**
 * Build the image a manifest declares and commit it to `manifest.ref` (or only compute its
 * checksum with `dryRun`).
 * @example const r = await composeImage(repo, loadManifest("os.yaml"), { dryRun: true }); r.commit
 * @throws ArborError MANIFEST, NOT_FOUND (an input), BAD_NAME, UNSUPPORTED, IO, NO_SPACE
 */
export async function composeImage(repo: Repo, m: Manifest, o: ComposeOptions = {}): Promise<ComposeResult> {
  const tx = o.dryRun ? null : await Transaction.begin(repo, o.signal ? { signal: o.signal } : {});
  try {
    const b = new TreeBuilder(repo, tx, m.normalize, o.signal);
    let root: MutableTree | null = null;
    const sources: Array<[ManifestSource, boolean]> = [
      ...m.inputs.map((s): [ManifestSource, boolean] => [s, false]),
      ...m.layers.map((s): [ManifestSource, boolean] => [s, true]),
    ];
    for (const [s, isLayer] of sources) {
      o.onMessage?.(`${isLayer ? "Layering" : "Importing"} ${describe(s)}`);
      let t: MutableTree;
      try {
        t = await importSource(b, s, { ...o, whiteouts: isLayer, epoch: m.sourceDateEpoch });
      } catch (e) {
        throw withContext(`Cannot compose "${m.ref}": ${isLayer ? "layer" : "input"} ${describe(s)}`, e);
      }
      if (root === null && !isLayer) root = t;
      else {
        root ??= new MutableTree();
        overlayTree(root, t, { whiteouts: isLayer });
      }
    }
    root ??= new MutableTree();
    root.meta ??= b.dirmeta({ uid: 0, gid: 0, mode: 0o755, xattrs: [] });
    const post = m.postprocess === "ostree" ? await postprocessOstree(b, root) : null;
    const rootCs = b.finish(root);

    const user: VarDict = m.metadata.map(([k, v]) => [k, metadataVariant(k, v)]);
    if (!user.some(([k]) => k === "version")) user.push(["version", new Variant("s", m.version)]);
    const kernel = post?.kernel ?? null;
    const metadata = buildCommitMetadata({
      user,
      bindRefs: [m.ref],
      collectionId: repo.collectionId,
      ...(kernel !== null ? { bootable: { linux: kernel } } : {}),
    });
    const commit: Commit = {
      metadata,
      parent: null,
      related: [],
      subject: m.subject ?? `${m.ref} ${m.version}`,
      body: "",
      timestamp: m.sourceDateEpoch,
      rootTree: rootCs.tree,
      rootMeta: rootCs.meta,
    };
    const bytes = encodeCommit(commit);
    let cs: string;
    if (tx) {
      cs = tx.writeMetadata("commit", bytes);
      tx.setRef(m.ref, cs);
      await tx.commit();
    } else cs = sha256Hex(bytes);
    return {
      commit: cs,
      ref: m.ref,
      version: m.version,
      written: tx !== null,
      rootTree: rootCs.tree,
      files: b.stats.files,
      bytes: b.stats.bytes,
      dropped: b.stats.dropped,
      postprocess: post,
    };
  } catch (e) {
    await tx?.abort();
    throw e;
  }
}
