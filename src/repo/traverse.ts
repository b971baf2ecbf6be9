/**
 * Reachability: which objects a commit (and its history) needs. This is the root set of `prune`
 * and the work list of `fsck`.
 *
 * Objects are named `CHECKSUM.TYPE` (as ostree prints them, e.g. `3f2a….dirtree`). From a commit
 * we reach its root dirtree and dirmeta, from a dirtree its files, subdirectory dirtrees and
 * dirmetas, and from a commit its parent (up to a depth). Detached metadata (`.commitmeta`) and
 * tombstones are not objects of the graph: they live and die with their commit.
 *
 * Rules shared with ostree (ostree-repo-traverse.c):
 *  - a missing parent commit ends the walk: most repositories hold partial history;
 *  - in a commit marked partial (`state/C.commitpartial`) a missing dirtree is skipped with its
 *    whole subtree; in any other commit it is an error (OBJECT_NOT_FOUND), so that prune never
 *    deletes what it could not see;
 *  - each dirtree is read once per walker, however many commits or directories share it.
 * One deliberate difference: ostree stops at a commit it has already seen even when the new walk
 * was allowed to go deeper (so `--retain-branch-depth` can keep less than asked); we remember how
 * deep each commit was walked and continue when a later walk reaches further.
 *
 * The walk is iterative (an explicit stack), so deep trees cannot overflow the call stack, and
 * synchronous: it is a stream of small reads, which Node does fastest without the thread pool.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { sha256Hex } from "../core/checksum.js";
import { type Commit, type Dirtree, decodeCommit, decodeDirtree } from "../core/metadata.js";
import type { ObjectType } from "../core/object-type.js";
import { isChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError, isArborError } from "../errors.js";
import { listRefs } from "./refs.js";
import type { Repo } from "./repo.js";

/** An object's name as ostree prints it: `CHECKSUM.TYPE`. */
export type ObjectKey = string;

/** `CHECKSUM.TYPE` for an object. */
export function objectKey(checksum: string, type: ObjectType): ObjectKey {
  return `${checksum}.${type}`;
}

/**
 * Split an {@link ObjectKey}.
 * @throws ArborError BAD_CHECKSUM if it is not `CHECKSUM.TYPE`.
 */
export function parseObjectKey(key: ObjectKey): { checksum: string; type: ObjectType } {
  const dot = key.indexOf(".");
  const checksum = key.slice(0, dot);
  if (dot !== 64 || !isChecksum(checksum))
    throw new ArborError("BAD_CHECKSUM", `Invalid object name "${key.slice(0, 80)}"`);
  return { checksum, type: key.slice(dot + 1) as ObjectType };
}

/** Options of an {@link ObjectWalker}. */
export interface WalkerOptions {
  /** Record which dirtree or commit refers to each object (for {@link ObjectWalker.commitsOf}). */
  recordParents?: boolean;
  /** Only walk commit objects (their history), not their trees (`prune --commit-only`). */
  commitOnly?: boolean;
  /**
   * Called instead of throwing when a dirtree of a non-partial commit is missing or a commit or
   * dirtree cannot be decoded; the walk skips it (and its subtree) and goes on. fsck uses this: it
   * reports such objects itself when it verifies them.
   */
  onUnreadable?: (key: ObjectKey, error: ArborError) => void;
  /**
   * Check that each commit and dirtree hashes to its name before following it; one that does not
   * is unreadable (see `onUnreadable`). fsck sets this so a flipped byte in a dirtree is reported
   * as corruption, not as a cascade of "missing" objects the garbage checksum names.
   */
  verifyHashes?: boolean;
}

/**
 * Accumulates the objects reachable from any number of commits (a union, as ostree's
 * `traverse_commit_union`).
 * @example
 * const w = new ObjectWalker(repo);
 * w.addCommit(head, -1);
 * if (!w.reachable.has(`${cs}.file`)) …
 */
export class ObjectWalker {
  /** Every object reached so far, in discovery order. */
  readonly reachable = new Set<ObjectKey>();
  private readonly repo: Repo;
  private readonly opts: WalkerOptions;
  /** Object -> the dirtree(s) or commit(s) naming it. */
  private readonly parents: Map<ObjectKey, ObjectKey | ObjectKey[]> | null;
  /** Commit -> the most parent levels walked from it so far (-1 = all). */
  private readonly commitDepth = new Map<string, number>();

  constructor(repo: Repo, opts: WalkerOptions = {}) {
    this.repo = repo;
    this.opts = opts;
    this.parents = opts.recordParents ? new Map() : null;
  }

  /**
   * Add a commit, its tree, and up to `maxDepth` generations of parents (-1: all, 0: just this
   * commit). A commit that is not in the repository is silently ignored (as ostree does for
   * missing parents); use {@link Repo.hasObject} first if absence is an error for you.
   * @throws ArborError OBJECT_NOT_FOUND for a missing dirtree of a non-partial commit,
   *   OBJECT_CORRUPT for an undecodable commit or dirtree (unless `onUnreadable` is set), IO.
   */
  addCommit(commit: string, maxDepth = -1): void {
    let cs: string | null = commit;
    let depth = maxDepth < 0 ? -1 : maxDepth;
    while (cs !== null) {
      const seen = this.commitDepth.get(cs);
      if (seen !== undefined && (seen === -1 || (depth !== -1 && seen >= depth))) return;
      const c = this.loadCommit(cs);
      if (!c) return;
      this.commitDepth.set(cs, depth);
      const key = objectKey(cs, "commit");
      if (seen === undefined) {
        this.reachable.add(key);
        if (!this.opts.commitOnly) this.walkTree(c, key, this.repo.isCommitPartial(cs));
      }
      if (depth === 0 || !c.parent) return;
      if (depth > 0) depth--;
      cs = c.parent;
    }
  }

  /**
   * The commits an object was reached from (through any chain of dirtrees), for messages like
   * ostree's "In commits A, B: …". Needs `recordParents`. A commit's own answer is itself.
   */
  commitsOf(key: ObjectKey): string[] {
    if (key.endsWith(".commit")) return [key.slice(0, 64)];
    const parents = this.parents;
    if (!parents) return [];
    const list = (k: ObjectKey): ObjectKey[] => {
      const p = parents.get(k);
      return p === undefined ? [] : Array.isArray(p) ? p : [p];
    };
    // Depth-first in recording order (as ostree's parents_get_commits), without recursion.
    const out = new Set<string>();
    const seen = new Set<ObjectKey>([key]);
    const stack: Array<{ items: ObjectKey[]; i: number }> = [{ items: list(key), i: 0 }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      if (top.i >= top.items.length) {
        stack.pop();
        continue;
      }
      const parent = top.items[top.i++]!;
      if (parent.endsWith(".commit")) out.add(parent.slice(0, 64));
      else if (!seen.has(parent)) {
        seen.add(parent);
        stack.push({ items: list(parent), i: 0 });
      }
    }
    return [...out];
  }

  private loadCommit(cs: string): Commit | null {
    const bytes = this.repo.readMetadataMaybe("commit", cs);
    if (!bytes) return null;
    try {
      this.checkHash(bytes, cs, "commit");
      return decodeCommit(bytes, `commit ${cs}`);
    } catch (e) {
      if (this.opts.onUnreadable && isArborError(e)) {
        this.reachable.add(objectKey(cs, "commit"));
        this.opts.onUnreadable(objectKey(cs, "commit"), e);
        return null;
      }
      throw e;
    }
  }

  private checkHash(bytes: Uint8Array, checksum: string, type: ObjectType): void {
    if (!this.opts.verifyHashes) return;
    const actual = sha256Hex(bytes);
    if (actual !== checksum)
      throw new ArborError(
        "OBJECT_CORRUPT",
        `Corrupted ${type} object; checksum expected='${checksum}' actual='${actual}'`,
        { data: { checksum, type } },
      );
  }

  private addParent(key: ObjectKey, parent: ObjectKey): void {
    const p = this.parents;
    if (!p) return;
    const old = p.get(key);
    if (old === undefined) p.set(key, parent);
    else if (Array.isArray(old)) {
      if (!old.includes(parent)) old.push(parent);
    } else if (old !== parent) p.set(key, [old, parent]);
  }

  /** Walk a commit's tree; each dirtree is read once per walker. */
  private walkTree(c: Commit, commitKey: ObjectKey, partial: boolean): void {
    const stack: Array<{ tree: string; key: ObjectKey }> = [];
    const visitDir = (tree: string, meta: string, parent: ObjectKey): void => {
      const metaKey = objectKey(meta, "dirmeta");
      this.addParent(metaKey, parent);
      this.reachable.add(metaKey);
      const treeKey = objectKey(tree, "dirtree");
      this.addParent(treeKey, parent);
      if (this.reachable.has(treeKey)) return;
      this.reachable.add(treeKey);
      stack.push({ tree, key: treeKey });
    };
    visitDir(c.rootTree, c.rootMeta, commitKey);
    while (stack.length) {
      const { tree, key } = stack.pop()!;
      let dt: Dirtree;
      try {
        const bytes = this.repo.readMetadata("dirtree", tree);
        this.checkHash(bytes, tree, "dirtree");
        dt = decodeDirtree(bytes, `dirtree ${tree}`);
      } catch (e) {
        if (isArborError(e, "OBJECT_NOT_FOUND") && partial) continue;
        if (this.opts.onUnreadable && isArborError(e)) {
          this.opts.onUnreadable(key, e);
          continue;
        }
        throw e;
      }
      for (const f of dt.files) {
        const fk = objectKey(f.checksum, "file");
        this.addParent(fk, key);
        this.reachable.add(fk);
      }
      for (const d of dt.dirs) visitDir(d.tree, d.meta, key);
    }
  }
}

/** Options of {@link traverseCommit}. */
export interface TraverseCommitOptions extends WalkerOptions {
  /** Parent generations to follow: -1 (default) all, 0 just this commit. */
  maxDepth?: number;
}

/**
 * The set of objects (`CHECKSUM.TYPE`) reachable from one commit, as `ostree_repo_traverse_commit`.
 * @example const objs = traverseCommit(repo, head, { maxDepth: 0 });
 * @throws ArborError OBJECT_NOT_FOUND (missing dirtree in a complete commit), OBJECT_CORRUPT, IO.
 */
export function traverseCommit(repo: Repo, commit: string, opts: TraverseCommitOptions = {}): Set<ObjectKey> {
  const w = new ObjectWalker(repo, opts);
  w.addCommit(commit, opts.maxDepth ?? -1);
  return w.reachable;
}

/** Options of {@link traverseReachable}. */
export interface TraverseReachableOptions extends WalkerOptions {
  /** Start from every ref: local heads, remote refs and collection mirrors (default true). */
  refs?: boolean;
  /** Parent generations to follow from each start (-1 = all, the default). */
  depth?: number;
  /** More commits to start from (e.g. deployments not pinned by a ref). */
  extraCommits?: Iterable<string>;
}

/** The commit each ref points to (heads, remotes and mirrors), as `name -> checksum`. */
export function allRefCommits(repo: Repo): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of listRefs(repo, { kind: "all" })) out.set(r.name, r.checksum);
  for (const r of listRefs(repo, { kind: "mirrors" })) out.set(`(${r.remote}, ${r.ref})`, r.checksum);
  return out;
}

/**
 * Objects reachable from the refs (and extra commits), as `ostree_repo_traverse_reachable_refs`.
 * Refs are read once; take the repo lock around this if others may be writing.
 * @throws ArborError as {@link traverseCommit}; BAD_REF for a ref file without a checksum.
 */
export function traverseReachable(repo: Repo, opts: TraverseReachableOptions = {}): Set<ObjectKey> {
  const w = new ObjectWalker(repo, opts);
  const depth = opts.depth ?? -1;
  if (opts.refs ?? true) for (const cs of allRefCommits(repo).values()) w.addCommit(cs, depth);
  for (const cs of opts.extraCommits ?? []) w.addCommit(cs, depth);
  return w.reachable;
}

const LISTED_EXT: Record<string, ObjectType> = {
  dirtree: "dirtree",
  dirmeta: "dirmeta",
  commit: "commit",
  "payload-link": "payload-link",
};

/**
 * Every loose object under `objects/` that the object graph knows (content, dirtree, dirmeta,
 * commit, payload-link; detached metadata and tombstones go with their commit), as
 * `ostree_repo_list_objects`. Entries that are not `XX/62-hex.EXT` are ignored.
 * @param only restrict to one type (e.g. "commit": the cheap way to enumerate commits).
 * @throws ArborError IO.
 */
export function listLooseObjects(repo: Repo, only?: ObjectType): ObjectKey[] {
  const root = join(repo.path, "objects");
  const contentExt = repo.archive ? "filez" : "file";
  const out: ObjectKey[] = [];
  let dirs: string[];
  try {
    dirs = readdirSync(root);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return out;
    throw fromSystemError(`Cannot list objects of "${repo.path}"`, e);
  }
  for (const d of dirs.sort()) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    let names: string[];
    try {
      names = readdirSync(join(root, d));
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") continue;
      throw fromSystemError(`Cannot list objects in "${join(root, d)}"`, e);
    }
    for (const n of names) {
      const dot = n.indexOf(".");
      if (dot !== 62) continue;
      const ext = n.slice(63);
      const type: ObjectType | undefined = ext === contentExt ? "file" : LISTED_EXT[ext];
      if (!type || (only && type !== only)) continue;
      const cs = d + n.slice(0, 62);
      if (isChecksum(cs)) out.push(objectKey(cs, type));
    }
  }
  return out;
}
