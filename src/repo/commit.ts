/**
 * `commit`: import trees (a directory, a tarball, an existing ref), layered in order, into a
 * MutableTree, write the dirtrees, then the commit object, in one Transaction.
 *
 * Checksums equal ostree's for the same input and flags: content headers carry uid/gid/mode/
 * xattrs exactly as `ostree commit` records them, and commit metadata keys are ordered as ostree
 * orders them (builder order, or GHashTable order with `--bootable`; see ghash-order.ts).
 *
 * Speed: the directory walk and small-file I/O are synchronous (metadata-heavy work is fastest
 * that way); hashing runs on the main thread while compression (archive) runs on libuv's thread
 * pool with several files in flight, so both cores work.
 */
import { sha256Hex } from "../core/checksum.js";
import { type Commit, encodeCommit, encodeVarDict, lookup, type VarDict } from "../core/metadata.js";
import { parseRefspec } from "../core/validate.js";
import { ArborError } from "../errors.js";
import { ghashOrderPairs } from "../gvariant/ghash-order.js";
import { Variant } from "../gvariant/serialize.js";
import { importDirectory } from "./import-dir.js";
import { type CommitModifiers, type ContentSink, Importer } from "./importer.js";
import { MutableTree } from "./mutable-tree.js";
import { resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";
import { Transaction } from "./transaction.js";

export { importDirectory, readXattrsOf } from "./import-dir.js";

/** One layer of input. Later layers overwrite earlier ones path by path. */
export type TreeSource =
  | { kind: "dir"; path: string }
  /** `path` `-` is standard input; options from `--tar-pathname-filter` / `--tar-autocreate-parents`. */
  | {
      kind: "tar";
      path: string;
      pathnameFilter?: { regex: RegExp; replacement: string };
      autocreateParents?: boolean;
    }
  /** `base`: from `--base` (ostree starts from that tree as is: modifiers apply only to new content). */
  | { kind: "ref"; rev: string; base?: boolean };

export type { CommitModifiers } from "./importer.js";

export interface CommitOptions extends CommitModifiers {
  trees: TreeSource[];
  branch?: string;
  orphan?: boolean;
  subject?: string;
  body?: string;
  /** Parent commit (rev); "none" for no parent; default: the branch's current commit. */
  parent?: string;
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** User metadata in command-line order (`--add-metadata-string`, `--add-metadata`). */
  metadata?: VarDict;
  /** Copy these metadata keys from the parent (`--keep-metadata`). */
  keepMetadata?: string[];
  detachedMetadata?: VarDict;
  bootable?: boolean;
  skipIfUnchanged?: boolean;
  noBindings?: boolean;
  bindRefs?: string[];
  /** `--generate-sizes`: record `ostree.sizes` (archive repositories only, as ostree). */
  generateSizes?: boolean;
  /**
   * `--consume`: the caller gives the `dir` trees up. Regular files may be adopted (renamed into
   * the repository) as they are committed; the caller deletes what is left afterwards.
   */
  consume?: boolean;
  /** Write nothing; just compute the checksum. */
  dryRun?: boolean;
  /**
   * `--link-checkout-speedup`: scan the repository's loose content objects first, so that files
   * of `dir` trees that are hardlinks of objects are recorded as those objects (import-dir.ts).
   */
  linkCheckoutSpeedup?: boolean;
  /** `--devino-canonical`: hardlinked objects are taken as they are, modifiers aside (implies linkCheckoutSpeedup). */
  devinoCanonical?: boolean;
  /**
   * Sign the new commit (`--sign`, `--gpg-sign`): given its checksum, exact bytes and detached
   * metadata so far, return the detached metadata to store. Called inside the transaction, so the
   * signatures are durable before the ref moves (as ostree signs before committing its transaction).
   */
  signDetached?: (commit: string, bytes: Uint8Array, detached: VarDict | null) => Promise<VarDict | null>;
  onProgress?: (p: { files: number; bytes: number }) => void;
  signal?: AbortSignal;
}

export interface CommitResult {
  commit: string;
  /** False when --skip-if-unchanged found nothing to do. */
  written: boolean;
  stats: {
    filesScanned: number;
    contentWritten: number;
    metadataWritten: number;
    bytesWritten: number;
    /** Objects handed to the transaction, new or not (`--table-output` totals). */
    contentTotal: number;
    metadataTotal: number;
    /** Files recorded as the object they are a hardlink of (`Content Cache Hits`). */
    contentCacheHits: number;
  };
}

/** Import an existing commit's tree (`--tree=ref=REV`) into `tree`. */
export function importRef(imp: Importer, rev: string, tree: MutableTree): MutableTree {
  const cs = resolveRev(imp.repo, rev)!;
  const c = imp.repo.loadCommit(cs);
  const src = MutableTree.fromRepo(imp.repo, c.rootTree, c.rootMeta);
  if (!tree.meta && tree.entries().files.size === 0 && tree.entries().dirs.size === 0) return src;
  mergeTrees(tree, src);
  return tree;
}

/** Overlay `src` onto `dst`: files replace, directories merge, directory metadata from `src`. */
export function mergeTrees(dst: MutableTree, src: MutableTree): void {
  dst.meta = src.meta;
  const { files, dirs } = src.entries();
  for (const [name, cs] of files) dst.replaceFile(name, cs);
  for (const [name, sub] of dirs) {
    const existing = dst.getDir(name);
    if (!existing) dst.replaceDir(name, sub);
    else mergeTrees(dst.ensureDir(name), sub);
  }
}

/**
 * The kernel version of a bootable tree: the first `/usr/lib/modules/VERSION` holding `vmlinuz`.
 * @throws ArborError NOT_FOUND worded as ostree does ("No such file or directory: /usr/lib",
 * "No kernel found in /usr/lib/modules").
 */
function kernelVersion(root: MutableTree): string {
  const walked: string[] = [];
  for (const part of ["usr", "lib", "modules"]) {
    walked.push(part);
    if (!root.lookupDir(walked))
      throw new ArborError("NOT_FOUND", `No such file or directory: /${walked.join("/")}`);
  }
  const mods = root.lookupDir(walked)!;
  for (const [name, sub] of [...mods.entries().dirs].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (sub.getFile("vmlinuz")) return name;
  }
  throw new ArborError("NOT_FOUND", "No kernel found in /usr/lib/modules");
}

/**
 * Build the commit's metadata in exactly the order `ostree commit` serializes it. `bindRefs` null
 * means `--no-bindings`; otherwise ostree writes `ostree.ref-binding` even when it is empty (an
 * `--orphan` commit carries `@as []`) and, in a repo with a collection ID, the collection binding.
 */
export function buildCommitMetadata(opts: {
  user: VarDict;
  bindRefs: string[] | null;
  collectionId?: string;
  bootable?: { linux: string | null };
}): VarDict {
  const md: VarDict = [];
  const put = (k: string, v: Variant) => {
    const i = md.findIndex(([x]) => x === k);
    if (i >= 0) md[i] = [k, v];
    else md.push([k, v]);
  };
  for (const [k, v] of opts.user) put(k, v);
  if (opts.bindRefs) put("ostree.ref-binding", new Variant("as", [...new Set(opts.bindRefs)].sort()));
  // as ostree: --add-metadata-string=ostree.collection-binding=… overrides the repo's collection ID
  const userBinding = opts.user.some(([k]) => k === "ostree.collection-binding");
  if (opts.collectionId && opts.bindRefs && !userBinding)
    put("ostree.collection-binding", new Variant("s", opts.collectionId));
  if (opts.bootable) {
    // insertion order matters for hash collisions: ostree adds ostree.bootable, then ostree.linux
    put("ostree.bootable", new Variant("b", true));
    if (opts.bootable.linux) put("ostree.linux", new Variant("s", opts.bootable.linux));
    // `ostree_commit_metadata_for_bootable` round-trips through a GVariantDict: hash-table order
    return ghashOrderPairs(md);
  }
  return md;
}

/**
 * Commit trees to the repository (as `ostree commit`).
 * @throws ArborError USAGE, NOT_FOUND, BAD_NAME, NO_SPACE, IO
 */
export async function commitTree(repo: Repo, opts: CommitOptions): Promise<CommitResult> {
  const branchSpec = opts.branch ? parseRefspec(opts.branch) : null;
  const tx = opts.dryRun ? null : await Transaction.begin(repo, { signal: opts.signal });
  try {
    const sink: ContentSink = tx
      ? {
          content: (h, d, cs) => tx.writeContent(h, d, cs, cs !== undefined),
          stream: (h, s, d) => tx.writeContentStream(h, s, d),
          metadata: (t, b) => tx.writeMetadata(t, b),
          ...((await canAdopt(repo, opts)) ? { adopt: (h, p, n) => tx.adoptFile(h, p, n) } : {}),
        }
      : await dryRunSink();
    const imp = new Importer(repo, sink, opts, opts.onProgress);
    if (opts.linkCheckoutSpeedup || opts.devinoCanonical) {
      // as ostree: scanned once the transaction is open, objects it writes are not in the cache
      const { scanHardlinks } = await import("./devino-cache.js");
      imp.devino = scanHardlinks(repo);
      imp.devinoCanonical = opts.devinoCanonical === true;
    }
    let root = new MutableTree();
    const trees = opts.trees.length ? opts.trees : [{ kind: "dir" as const, path: "." }];
    for (const t of trees) {
      if (t.kind === "dir") await importDirectory(imp, t.path, root);
      else if (t.kind === "ref") {
        // with modifiers, ostree re-reads the commit's files and applies them (import-ref.ts)
        const { hasModifiers, importRefModified } = await import("./import-ref.js");
        if (hasModifiers(opts) && !t.base) await importRefModified(imp, t.rev, root);
        else root = importRef(imp, t.rev, root);
      } else {
        const { importTar } = await import("./import-tar.js");
        await importTar(imp, t.path, root, t);
      }
    }
    imp.checkAllMatched();
    // a root without metadata: only an archive without a `./` entry (ostree's wording)
    if (!root.meta) throw new ArborError("USAGE", "Can't commit an empty tree");
    const rootCs = tx ? root.write(tx) : root.checksum();

    // parent
    let parent: string | null = null;
    if (opts.parent && opts.parent !== "none") parent = resolveRev(repo, opts.parent);
    else if (!opts.parent && opts.branch && !opts.orphan)
      parent = resolveRev(repo, opts.branch, { allowNoent: true });

    if (opts.skipIfUnchanged && parent) {
      const pc = repo.loadCommit(parent);
      if (pc.rootTree === rootCs.tree && pc.rootMeta === rootCs.meta) {
        await tx?.abort();
        return { commit: parent, written: false, stats: statsOf(imp, tx) };
      }
    }

    let user: VarDict = [];
    if (opts.keepMetadata?.length && parent) {
      const pc = repo.loadCommit(parent);
      for (const k of opts.keepMetadata) {
        const v = lookup(pc.metadata, k);
        if (v) user.push([k, v]);
      }
    }
    user = [...user, ...(opts.metadata ?? [])];
    const bindRefs = opts.noBindings
      ? null
      : [...(opts.branch ? [opts.branch] : []), ...(opts.bindRefs ?? [])];
    let metadata = buildCommitMetadata({
      user,
      bindRefs,
      collectionId: repo.collectionId,
      bootable: opts.bootable ? { linux: kernelVersion(root) } : undefined,
    });
    if (opts.generateSizes && tx) {
      const { withSizesMetadata } = await import("./commit-sizes.js");
      metadata = withSizesMetadata(metadata, rootCs, tx);
    }
    const commit: Commit = {
      metadata,
      parent,
      related: [],
      subject: opts.subject ?? "",
      body: opts.body ?? "",
      timestamp: opts.timestamp ?? Math.floor(Date.now() / 1000),
      rootTree: rootCs.tree,
      rootMeta: rootCs.meta,
    };
    const bytes = encodeCommit(commit);
    if (!tx) return { commit: sha256Hex(bytes), written: false, stats: statsOf(imp, tx) };
    const cs = tx.writeMetadata("commit", bytes);
    // -- signing (see signDetached): before the ref moves, in the same transaction
    let detached: VarDict | null = opts.detachedMetadata?.length ? opts.detachedMetadata : null;
    if (opts.signDetached) detached = await opts.signDetached(cs, bytes, detached);
    if (detached?.length) tx.writeMetadataNamed("commitmeta", cs, encodeVarDict(detached), true);
    // -- end signing
    if (branchSpec) tx.setRef(branchSpec.ref, cs, branchSpec.remote); // `-b REMOTE:REF` writes a remote ref
    await tx.commit();
    return { commit: cs, written: true, stats: statsOf(imp, tx) };
  } catch (e) {
    await tx?.abort();
    throw e;
  }
}

/**
 * `--consume` adopts files (renames them into the repo) where ostree does: bare-user-only repos
 * (modes are canonicalized on adoption), and bare repos when no modifier changes what is recorded.
 */
async function canAdopt(repo: Repo, opts: CommitOptions): Promise<boolean> {
  if (!opts.consume) return false;
  if (repo.mode === "bare-user-only") return true;
  if (repo.mode !== "bare") return false;
  const { hasModifiers } = await import("./import-ref.js");
  return !hasModifiers(opts);
}

function statsOf(imp: Importer, tx: Transaction | null): CommitResult["stats"] {
  return {
    filesScanned: imp.files,
    contentWritten: tx?.stats.contentWritten ?? 0,
    metadataWritten: tx?.stats.metadataWritten ?? 0,
    bytesWritten: tx?.stats.contentBytesWritten ?? 0,
    contentTotal: tx?.stats.contentTotal ?? 0,
    metadataTotal: tx?.stats.metadataTotal ?? 0,
    contentCacheHits: imp.devinoHits,
  };
}

/** A sink that only computes checksums (commit --dry-run, compose --dry-run). */
async function dryRunSink(): Promise<ContentSink> {
  const { contentHasher } = await import("../core/content-header.js");
  return {
    content: async (h, d, cs) => cs ?? contentHasher(h).update(d).digest("hex"),
    stream: async (h, _s, d) => {
      const hash = contentHasher(h);
      for await (const c of d) hash.update(c);
      return hash.digest("hex");
    },
    metadata: (_t, b) => sha256Hex(b),
  };
}
