/**
 * Differences between two trees, as `ostree diff` computes them. Each side is a commit (rev), a
 * stored tree, or a directory on disk; a path is *modified* when its object checksum differs
 * (content header — owner, mode, xattrs, symlink target — plus data; for directories the dirmeta),
 * *removed* when only side A has it, *added* when only side B has it.
 *
 * Order and shape follow ostree 2022.7 exactly (checked against it):
 *  - a directory is walked in its enumeration order: stored trees list files then subdirectories
 *    (each sorted by name), directories on disk list entries as GLib does (readdir order, sorted by
 *    inode number in chunks of 1000);
 *  - in each directory, A's entries are compared first (recursing into common subdirectories at
 *    once), then B's new entries are added, each new directory followed by everything under it;
 *    a removed directory is listed alone, a path whose type changed is modified and not descended;
 *  - `--owner-uid/--owner-gid` apply to side B when it is on disk, and `--no-xattrs` reads no
 *    xattrs from disk (so a stored file with xattrs shows as modified), both as ostree does.
 * Two stored subtrees with the same dirtree checksum are skipped without being read, so diffing
 * two large commits that differ in a few files reads only the changed directories.
 *
 * The filesystem side ({@link diffTreeAgainstDir}) also serves the /etc merge and drift detection:
 * every modified entry says *what* changed.
 */
import { createHash } from "node:crypto";
import { lstatSync, readlinkSync, type Stats, statSync } from "node:fs";
import type { FileHeader, Xattrs } from "../core/content-header.js";
import { contentHasher } from "../core/content-header.js";
import { isDir, isLnk, isReg } from "../core/mode.js";
import { ArborError, fromSystemError } from "../errors.js";
import { hashFileData, listDirOnDisk, readXattrsOnDisk } from "./diff-disk.js";
import { readFileDataSync, statFileObject } from "./read-object.js";
import { resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";
import { parseObjectKey, traverseCommit } from "./traverse.js";

/** One side of a diff. A plain string given to {@link diffTrees} is a rev. */
export type DiffSide =
  | { kind: "rev"; rev: string }
  | { kind: "tree"; tree: string; meta: string }
  | { kind: "dir"; path: string };

/** What differs about a modified path. */
export type ChangeKind = "type" | "content" | "mode" | "owner" | "xattrs" | "target";

/** A path present on both sides whose object differs. Paths are absolute in the tree: `/usr/bin/x`. */
export interface ModifiedEntry {
  path: string;
  changes: ChangeKind[];
}

/** The result of a diff, in ostree's order. */
export interface DiffResult {
  modified: ModifiedEntry[];
  removed: string[];
  added: string[];
}

/** Options for {@link diffTrees} and {@link diffTreeAgainstDir}. */
export interface DiffOptions {
  /** Read no xattrs from directories on disk (`--no-xattrs`; stored xattrs still count). */
  noXattrs?: boolean;
  /** Take this uid for entries of side B when it is a directory on disk (`--owner-uid`). */
  ownerUid?: number;
  /** Take this gid for entries of side B when it is a directory on disk (`--owner-gid`). */
  ownerGid?: number;
  /**
   * Never read file data on disk: a regular file's data counts as changed only when its size
   * differs (metadata is compared as usual), and a file that is the stored object itself (same
   * inode: a hard-link checkout) is unchanged. Fast, but an edit that keeps the size is not seen.
   */
  quick?: boolean;
  signal?: AbortSignal;
}

/** Deeper than this cannot exist on Linux (PATH_MAX 4096 = 2048 × "a/"); deeper stored trees are hostile. */
const MAX_DEPTH = 2048;

type Kind = "file" | "symlink" | "dir" | "special";

/** A directory on either side. */
type DirRef = { repo: true; tree: string; meta: string } | { repo: false; path: string };

/** A child of a directory, as its enumeration yields it. */
type Child =
  | { name: string; repo: true; dir: true; tree: string; meta: string }
  | { name: string; repo: true; dir: false; checksum: string }
  | { name: string; repo: false; dir: boolean; path: string; st: Stats };

/** What an object records, for comparing and explaining. */
interface Meta {
  kind: Kind;
  uid: number;
  gid: number;
  mode: number;
  xattrs: Xattrs;
  target: string;
  size: number;
}

function kindOfMode(mode: number): Kind {
  return isDir(mode) ? "dir" : isLnk(mode) ? "symlink" : isReg(mode) ? "file" : "special";
}

/** A path for a message: long ones (hostile nesting) are cut. */
function shortPath(p: string): string {
  return p.length > 120 ? `${p.slice(0, 60)}…${p.slice(-40)}` : p;
}

function childPath(parent: string, name: string): string {
  return parent === "/" ? `/${name}` : `${parent}/${name}`;
}

function sameXattrs(a: Xattrs, b: Xattrs): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]![0] !== b[i]![0] || Buffer.compare(a[i]![1], b[i]![1]) !== 0) return false;
  }
  return true;
}

/** Header differences other than data, in a fixed order. */
function metaChanges(a: Meta, b: Meta): ChangeKind[] {
  const out: ChangeKind[] = [];
  if (a.mode !== b.mode) out.push("mode");
  if (a.uid !== b.uid || a.gid !== b.gid) out.push("owner");
  if (!sameXattrs(a.xattrs, b.xattrs)) out.push("xattrs");
  if (a.target !== b.target) out.push("target");
  return out;
}

/** The diff engine: one walk, results appended in ostree's order. */
class Differ implements DiffResult {
  readonly modified: ModifiedEntry[] = [];
  readonly removed: string[] = [];
  readonly added: string[] = [];
  private readonly ignoreXattrs: boolean;

  constructor(
    private readonly repo: Repo,
    private readonly opts: DiffOptions,
  ) {
    // As ostree: a repo that stores no xattrs makes the disk side ignore them too.
    this.ignoreXattrs =
      !!opts.noXattrs ||
      repo.mode === "bare-user-only" ||
      repo.config.getBool("core", "disable-xattrs", false);
  }

  private list(d: DirRef): Child[] {
    if (!d.repo) {
      return listDirOnDisk(d.path).map((e) => ({ ...e, repo: false as const, dir: e.st.isDirectory() }));
    }
    const dt = this.repo.loadDirtree(d.tree);
    const out: Child[] = [];
    for (const f of dt.files) out.push({ name: f.name, repo: true, dir: false, checksum: f.checksum });
    for (const s of dt.dirs) out.push({ name: s.name, repo: true, dir: true, tree: s.tree, meta: s.meta });
    return out;
  }

  private static dirOf(c: Child): DirRef {
    if (!c.repo) return { repo: false, path: c.path };
    if (!c.dir) throw new Error("not a directory");
    return { repo: true, tree: c.tree, meta: c.meta };
  }

  /** Compare two directories' children; `depth` guards against hostile nesting. */
  diffDir(a: DirRef, b: DirRef, path: string, depth: number): void {
    if (a.repo && b.repo && a.tree === b.tree) return;
    if (depth > MAX_DEPTH) {
      throw new ArborError(
        "OBJECT_CORRUPT",
        `Cannot diff "${shortPath(path)}": tree is nested over ${MAX_DEPTH} levels`,
      );
    }
    this.opts.signal?.throwIfAborted();
    const aList = this.list(a);
    const bList = this.list(b);
    const bByName = new Map<string, Child>();
    for (const c of bList) bByName.set(c.name, c);
    const aNames = new Set<string>();
    for (const ca of aList) {
      aNames.add(ca.name);
      const p = childPath(path, ca.name);
      const cb = bByName.get(ca.name);
      if (cb === undefined) {
        this.removed.push(p);
        continue;
      }
      const changes = this.compare(ca, cb);
      if (changes.length) this.modified.push({ path: p, changes });
      if (ca.dir && cb.dir) this.diffDir(Differ.dirOf(ca), Differ.dirOf(cb), p, depth + 1);
    }
    for (const cb of bList) {
      if (aNames.has(cb.name)) continue;
      const p = childPath(path, cb.name);
      this.added.push(p);
      if (cb.dir) this.addAll(Differ.dirOf(cb), p, depth + 1);
    }
  }

  private addAll(d: DirRef, path: string, depth: number): void {
    if (depth > MAX_DEPTH) {
      throw new ArborError(
        "OBJECT_CORRUPT",
        `Cannot diff "${shortPath(path)}": tree is nested over ${MAX_DEPTH} levels`,
      );
    }
    for (const c of this.list(d)) {
      const p = childPath(path, c.name);
      this.added.push(p);
      if (c.dir) this.addAll(Differ.dirOf(c), p, depth + 1);
    }
  }

  /** Metadata of a child; `sideB` selects the owner override for disk entries. */
  private meta(c: Child, sideB: boolean): Meta {
    if (c.repo) {
      if (c.dir) {
        const m = this.repo.loadDirmeta(c.meta);
        return { kind: "dir", uid: m.uid, gid: m.gid, mode: m.mode, xattrs: m.xattrs, target: "", size: 0 };
      }
      const o = statFileObject(this.repo, c.checksum);
      const h = o.header;
      const m = { kind: kindOfMode(h.mode), uid: h.uid, gid: h.gid, mode: h.mode, xattrs: h.xattrs };
      return { ...m, target: h.symlinkTarget, size: o.size };
    }
    const st = c.st;
    const kind = kindOfMode(st.mode);
    const uid = sideB && this.opts.ownerUid !== undefined ? this.opts.ownerUid : st.uid;
    const gid = sideB && this.opts.ownerGid !== undefined ? this.opts.ownerGid : st.gid;
    const xattrs = this.ignoreXattrs || kind === "special" ? [] : readXattrsOnDisk(c.path);
    const target = kind === "symlink" ? readlinkSync(c.path) : "";
    return { kind, uid, gid, mode: st.mode, xattrs, target, size: kind === "file" ? st.size : 0 };
  }

  /** What differs between two same-named children (empty: identical). */
  private compare(ca: Child, cb: Child): ChangeKind[] {
    if (ca.repo && cb.repo) {
      if (ca.dir !== cb.dir) return ["type"];
      if (ca.dir && cb.dir) {
        if (ca.meta === cb.meta) return [];
      } else if (!ca.dir && !cb.dir && ca.checksum === cb.checksum) return [];
    }
    if (this.opts.quick && this.sameInode(ca, cb)) return [];
    const ma = this.meta(ca, false);
    const mb = this.meta(cb, true);
    if (ma.kind !== mb.kind) return ["type"];
    const changes = metaChanges(ma, mb);
    if (ma.kind === "file" && (ma.size !== mb.size || !this.sameData(ca, cb, ma, mb)))
      changes.push("content");
    // Stored objects with different names differ, even if no field we compare explains it.
    if (changes.length === 0 && ca.repo && cb.repo) changes.push("content");
    return changes;
  }

  /**
   * Quick mode: a file on disk that *is* the stored object (a hard-link checkout of a non-archive
   * repo) is unchanged: owner, mode, xattrs (or bare-user's `user.ostreemeta`) and data all belong
   * to the one inode. Saves reading metadata on both sides. (An in-place edit of such a file also
   * edits the object; only a full diff, which hashes, sees that.)
   */
  private sameInode(ca: Child, cb: Child): boolean {
    if (this.repo.archive || ca.repo === cb.repo) return false;
    const stored = ca.repo ? ca : (cb as Extract<Child, { repo: true }>);
    const disk = (ca.repo ? cb : ca) as Extract<Child, { repo: false }>;
    if (stored.dir || disk.dir) return false;
    if (this.opts.ownerUid !== undefined || this.opts.ownerGid !== undefined) return false;
    try {
      const o = lstatSync(this.repo.objectPath(stored.checksum, "file"));
      return o.ino === disk.st.ino && o.dev === disk.st.dev;
    } catch {
      return false; // a missing object is reported when its metadata is read
    }
  }

  /** Regular files of equal size: is the data the same? */
  private sameData(ca: Child, cb: Child, ma: Meta, mb: Meta): boolean {
    if (ca.repo && cb.repo) return this.dataChecksum(ca) === this.dataChecksum(cb);
    if (this.opts.quick) return true; // sizes are equal: all quick mode looks at
    // One side stored: hash the disk data under the stored header and compare with the object name.
    const stored = ca.repo ? ca : cb.repo ? cb : null;
    if (stored && !stored.dir) {
      const disk = (stored === ca ? cb : ca) as Extract<Child, { repo: false }>;
      const m = stored === ca ? ma : mb;
      const h: FileHeader = { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: "", xattrs: m.xattrs };
      return hashFileData(disk.path, contentHasher(h)) === stored.checksum;
    }
    return this.dataChecksum(ca) === this.dataChecksum(cb);
  }

  /** SHA-256 of a regular file's data alone (either side). */
  private dataChecksum(c: Child): string {
    if (!c.repo) return hashFileData(c.path, createHash("sha256"));
    if (c.dir) throw new Error("not a file");
    const obj = statFileObject(this.repo, c.checksum);
    if (!obj.compressed) return hashFileData(obj.path, createHash("sha256"));
    return createHash("sha256").update(readFileDataSync(obj)).digest("hex");
  }
}

/** Resolve a side to a directory reference. */
function sideDir(repo: Repo, side: DiffSide | string): DirRef {
  const s: DiffSide = typeof side === "string" ? { kind: "rev", rev: side } : side;
  if (s.kind === "dir") {
    let st: Stats;
    try {
      st = statSync(s.path);
    } catch (e) {
      throw fromSystemError(`Cannot diff "${s.path}"`, e);
    }
    if (!st.isDirectory()) throw new ArborError("USAGE", `Cannot diff "${s.path}": not a directory`);
    return { repo: false, path: s.path };
  }
  if (s.kind === "tree") return { repo: true, tree: s.tree, meta: s.meta };
  const c = repo.loadCommit(resolveRev(repo, s.rev)!);
  return { repo: true, tree: c.rootTree, meta: c.rootMeta };
}

/**
 * Compare two trees: commits (revs), stored trees, or directories on disk, in any combination.
 * Output order and semantics are `ostree diff`'s (see the file comment).
 * @example const d = await diffTrees(repo, "main^", "main"); // d.modified[0].path === "/etc/os-release"
 * @throws ArborError NOT_FOUND (rev or directory), OBJECT_NOT_FOUND / OBJECT_CORRUPT (bad stored
 *   objects), USAGE (a side that is not a directory), IO, ABORTED.
 */
export async function diffTrees(
  repo: Repo,
  a: DiffSide | string,
  b: DiffSide | string,
  opts: DiffOptions = {},
): Promise<DiffResult> {
  const d = new Differ(repo, opts);
  d.diffDir(sideDir(repo, a), sideDir(repo, b), "/", 0);
  return { modified: d.modified, removed: d.removed, added: d.added };
}

/**
 * Compare a stored tree (a rev, or `{tree, meta}` checksums) with a directory on disk: what is
 * modified on disk (and how: content, mode, owner, xattrs, symlink target, type), removed from
 * disk, or added on disk. With `quick`, file data is never read (see {@link DiffOptions.quick}).
 * Used by `ostree diff REV DIR`, the /etc merge and drift detection.
 * @throws ArborError as {@link diffTrees}.
 */
export async function diffTreeAgainstDir(
  repo: Repo,
  tree: string | { tree: string; meta: string },
  dir: string,
  opts: DiffOptions = {},
): Promise<DiffResult> {
  const side: DiffSide = typeof tree === "string" ? { kind: "rev", rev: tree } : { kind: "tree", ...tree };
  return diffTrees(repo, side, { kind: "dir", path: dir }, opts);
}

/** `ostree diff --stats`: objects reachable from each commit and what they share. */
export interface DiffStats {
  objectsA: number;
  objectsB: number;
  commonObjects: number;
  /** Bytes the common objects take on disk (as stored: compressed in archive repos). */
  commonSize: number;
}

/**
 * Count the objects reachable from two commits and the size of those they share.
 * @throws ArborError NOT_FOUND, OBJECT_NOT_FOUND, OBJECT_CORRUPT
 */
export function diffStats(repo: Repo, revA: string, revB: string): DiffStats {
  const a = traverseCommit(repo, resolveRev(repo, revA)!, { maxDepth: 0 });
  const b = traverseCommit(repo, resolveRev(repo, revB)!, { maxDepth: 0 });
  let common = 0;
  let size = 0;
  for (const k of a) {
    if (!b.has(k)) continue;
    common++;
    const { checksum, type } = parseObjectKey(k);
    try {
      size += lstatSync(repo.objectPath(checksum, type)).size;
    } catch (e) {
      throw fromSystemError(`Cannot stat object ${k}`, e);
    }
  }
  return { objectsA: a.size, objectsB: b.size, commonObjects: common, commonSize: size };
}
