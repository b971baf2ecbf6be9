/**
 * `checkout`: materialise a commit's tree (or a subpath of it) into a directory, with ostree's
 * rules (2022.7, checked against it):
 * - Hardlinks to objects when the object *is* the file: bare repos in normal mode, bare-user and
 *   bare-user-only repos in user mode (bare-user-only always checks out in user mode). Symlinks
 *   of bare-user(-only) repos, empty files and (user mode) unreadable files are always copied.
 * - `requireHardlinks` (-H) fails on the first file that cannot be hardlinked, in ostree's words.
 * - Directories that already existed (union modes) keep their owner, mode and mtime; new ones get
 *   their dirmeta mode (`& 0775` for bare-user-only or `bareuseronlyDirs`), owner and xattrs
 *   unless in user mode, and mtime 0 unless `forceCopy`.
 * - Overwrite modes: none (an existing path is an error), union (replace files), union-add (keep
 *   what exists), union-identical (an existing file must be the same object, else "File exists").
 *
 * Safety: names come from validated dirtrees (no `/`, `.`, `..`); an existing symlink where a
 * directory is needed is refused, so nothing is written outside the destination.
 *
 * Speed: a hardlink checkout into a fresh root is one native walk ({@link Checkout.tree},
 * `native/checkout_tree.c`); what it leaves, and hardlink checkouts over an existing tree, go
 * through {@link Checkout.dir} with the plain files linked in bulk (`checkout-bulk.ts`); the rest
 * (copies, archive repos, whiteouts, skip lists) goes file by file.
 */

import { availableParallelism } from "node:os";
import { join, resolve } from "node:path";
import type { Dirmeta, DirtreeFile } from "../core/metadata.js";
import { isLnk } from "../core/mode.js";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { type CheckoutTreeHandle, type LinkKind, native } from "../io/native.js";
import { fs } from "../io/node-builtins.js";
import { BulkFiles, bulkLinkKind, HARDLINKED } from "./checkout-bulk.js";
import { existingMatches, writeCopy } from "./checkout-copy.js";
import type { CheckoutOptions, CheckoutStats, Overwrite } from "./checkout-options.js";
import { lookupPath } from "./lookup.js";
import { type FileObject, statFileObject } from "./read-object.js";
import { resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";

export type { CheckoutOptions, CheckoutStats, Overwrite } from "./checkout-options.js";

const WHITEOUT_PREFIX = ".wh.";
const PASSTHROUGH_WHITEOUT_PREFIX = ".ostree-wh.";
const OPAQUE_WHITEOUT = ".wh..wh..opq";
const BIG = 8 * 1024 * 1024;

class Checkout {
  readonly stats: CheckoutStats = { files: 0, hardlinked: 0, copied: 0, dirs: 0 };
  readonly userMode: boolean;
  readonly overwrite: Overwrite;
  private readonly repoDev: number;
  private bigFiles: Array<{ obj: FileObject; path: string; unreadable: boolean }> = [];
  /** Where uncompressed copies of archive objects are kept for user-mode checkouts, or null. */
  private readonly cacheDir: string | null;
  /** Plain files checked out in bulk (checkout-bulk.ts), or null: file by file. */
  private readonly bulk: BulkFiles | null;
  /** Directories made, in creation order: their mtime (and in bulk mode their mode) comes last. */
  private readonly dirsMade: Array<{ path: string; meta: Dirmeta }> = [];
  /** The kind for a whole native checkout below a fresh root (checkout_tree.c), or null. */
  private readonly treeKind: LinkKind | null;
  /** After a native walk: the directories it made (until their modes are set), and the root. */
  private walked: { handle: CheckoutTreeHandle; root: { path: string; meta: Dirmeta } } | null = null;

  constructor(
    readonly repo: Repo,
    readonly o: CheckoutOptions,
  ) {
    if (o.requireHardlinks && o.forceCopy)
      throw new ArborError("USAGE", "Cannot specify both --require-hardlinks and --force-copy");
    // ostree forces user mode for bare-user-only repos: nothing else makes sense there
    this.userMode = !!o.userMode || repo.mode === "bare-user-only";
    this.overwrite = o.union ? "union" : o.unionAdd ? "add" : o.unionIdentical ? "identical" : "none";
    this.repoDev = fs.statSync(repo.path).dev;
    const cache =
      repo.mode === "archive" &&
      this.userMode &&
      !o.forceCopy &&
      !!o.uncompressedCache &&
      repo.config.getBool("core", "enable-uncompressed-cache", true);
    this.cacheDir = cache ? join(repo.path, "uncompressed-objects-cache") : null;
    // union-identical exists to stop at the first conflict: file by file, it stops where ostree does
    const kind =
      this.overwrite === "identical"
        ? null
        : bulkLinkKind({ ...o, mode: repo.mode, userMode: this.userMode });
    this.bulk = kind === null ? null : new BulkFiles(join(repo.path, "objects"), kind, o.dest);
    this.treeKind =
      kind !== null && this.overwrite === "none" && typeof native().checkoutTree === "function" ? kind : null;
  }

  /** Whether a directory (not a file) checkout can use the native walk ({@link tree}). */
  get walksNatively(): boolean {
    return this.treeKind !== null;
  }

  /**
   * Check out the tree (`tree`, `metaCs`) into the fresh root `path` with the native walk
   * (`native/checkout_tree.c`: dirtrees read, directories made and plain entries linked on
   * threads), then, in tree order, what it left: entries it does not do (as in bulk mode),
   * subtrees it does not read (through {@link dir}, which reports what is wrong with them) and
   * directories it could not make. Their modes come last ({@link finishDirs}).
   */
  async tree(path: string, tree: string, metaCs: string): Promise<void> {
    const meta = this.repo.loadDirmeta(metaCs);
    this.makeDir(path, "");
    if (!this.userMode) for (const [k, v] of meta.xattrs) native().lsetxattr(path, k, v);
    const progress = this.o.onProgress ? new Int32Array(1) : undefined;
    const timer =
      progress &&
      setInterval(() => this.o.onProgress!({ files: this.stats.files + progress[0]! }), 200).unref();
    let r: Awaited<ReturnType<NonNullable<ReturnType<typeof native>["checkoutTree"]>>>;
    try {
      r = await native().checkoutTree!(join(this.repo.path, "objects"), resolve(path), tree, this.treeKind!, {
        threads: TREE_THREADS(),
        userMode: this.userMode,
        canonical: this.canonicalDirs,
        progress,
      });
    } finally {
      if (timer) clearInterval(timer);
    }
    this.walked = { handle: r.handle, root: { path, meta } };
    this.stats.dirs += r.dirs;
    this.stats.files += r.linked + r.symlinked + r.created;
    this.stats.hardlinked += r.linked;
    this.stats.copied += r.symlinked + r.created;
    r.rest.sort((a, b) => Buffer.compare(a[1], b[1]));
    for (const e of r.rest) {
      const rel = e[2];
      const dir = rel === "" ? path : join(path, rel);
      if (e[0] === 0) this.fileAt(dir, rel, { name: e[3], checksum: e[4] });
      else if (e[0] === 2) throw fromSystemError(`Cannot create directory "${dir}"`, e[6]);
      else if (rel !== "") this.dir(dir, e[4], e[5], rel);
      else {
        // the root's dirtree is not one the walk reads: it made nothing, the bulk path does it all
        const dt = this.repo.loadDirtree(e[4]);
        this.bulk!.queue(path, "", dt.files);
        for (const d of dt.dirs) this.dir(join(path, d.name), d.tree, d.meta, `/${d.name}`);
      }
    }
  }

  /** Check out the directory (tree, meta) at `path`; `rel` is its path in the checkout ("" for the root). */
  dir(path: string, tree: string, metaCs: string, rel: string): void {
    if (rel && this.o.skipList?.has(rel)) return;
    const dt = this.repo.loadDirtree(tree);
    const meta = this.repo.loadDirmeta(metaCs);
    if (this.o.whiteouts && dt.files.some((f) => f.name === OPAQUE_WHITEOUT))
      fs.rmSync(path, { recursive: true, force: true });
    // below a root just made nothing can exist yet: the bulk path makes the directory where it
    // links its files (on the thread pool), unless it needs xattrs set here
    const bulkMakes =
      this.bulk !== null &&
      rel !== "" &&
      this.overwrite === "none" &&
      (this.userMode || meta.xattrs.length === 0);
    let didExist = false;
    if (bulkMakes) this.stats.dirs++;
    else didExist = this.makeDir(path, rel);
    if (!didExist && !bulkMakes && !this.userMode)
      for (const [k, v] of meta.xattrs) native().lsetxattr(path, k, v);
    if (!didExist) this.dirsMade.push({ path, meta });
    if (bulkMakes) this.bulk!.queueNew(path, rel, dt.files);
    else if (this.bulk) this.bulk.queue(path, rel, dt.files);
    else for (const f of dt.files) this.fileAt(path, rel, f);
    for (const d of dt.dirs) this.dir(join(path, d.name), d.tree, d.meta, `${rel}/${d.name}`);
    // as ostree: a directory gets its mode once its content is in (in bulk mode, at the very end)
    if (!didExist && !this.bulk) this.setDirMode(path, meta);
  }

  /**
   * Make directory `path` (`rel` in the checkout), or accept it where the overwrite mode allows.
   * @returns whether it existed already.
   */
  private makeDir(path: string, rel: string): boolean {
    let didExist = false;
    try {
      fs.mkdirSync(path, { mode: 0o700 });
      this.stats.dirs++;
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw fromSystemError(`Cannot create directory "${path}"`, e);
      if (this.overwrite === "none")
        throw new ArborError("EXISTS", `Cannot check out into "${path}": File exists (use --union to merge)`);
      const st = fs.lstatSync(path);
      if (st.isSymbolicLink())
        throw new ArborError(
          "PATH_ESCAPE",
          `Cannot check out into "${path}": it is a symlink in the destination`,
        );
      if (!st.isDirectory())
        throw new ArborError("EXISTS", `Cannot check out into "${path}": Not a directory`);
      didExist = true;
    }
    // a directory just made lives on its parent's filesystem: only the root and existing
    // directories (union modes: possibly mount points) need the check
    if (this.o.requireHardlinks && (didExist || rel === "")) {
      const dev = fs.statSync(path).dev;
      if (dev !== this.repoDev)
        throw new ArborError(
          "UNSUPPORTED",
          `Unable to do hardlink checkout across devices (src=${this.repoDev} destination=${dev})`,
        );
    }
    return didExist;
  }

  /** Whether directory modes keep only 0775 (bare-user-only repos, `bareuseronlyDirs`). */
  private get canonicalDirs(): boolean {
    return this.repo.mode === "bare-user-only" || !!this.o.bareuseronlyDirs;
  }

  /** A directory's mode (`& 0775` where canonical) and, unless in user mode, its owner. */
  private setDirMode(path: string, meta: Dirmeta): void {
    fs.chmodSync(path, this.canonicalDirs ? meta.mode & 0o775 : meta.mode & 0o7777);
    if (!this.userMode) fs.chownSync(path, meta.uid, meta.gid);
  }

  /** Check out the dirtree entry `f` of the directory `dir` (`rel` in the checkout). */
  private fileAt(dir: string, rel: string, f: DirtreeFile): void {
    const childRel = `${rel}/${f.name}`;
    if (this.o.skipList?.has(childRel)) return;
    try {
      this.file(dir, f.name, f.checksum);
    } catch (e) {
      throw withContext(`Cannot check out "${childRel}"`, e);
    }
    if (this.stats.files % 1024 === 0) this.o.onProgress?.({ files: this.stats.files });
  }

  /** Wait for the bulk batches, then check out what they left, in tree order. */
  async finishBulk(): Promise<void> {
    await this.bulk?.finish(
      (what) => {
        this.stats.files++;
        if (what === HARDLINKED) this.stats.hardlinked++;
        else this.stats.copied++;
        if (this.stats.files % 1024 === 0) this.o.onProgress?.({ files: this.stats.files });
      },
      (dir, rel, f) => this.fileAt(dir, rel, f),
    );
  }

  /** After a failure: wait until no bulk batch is running. */
  async settle(): Promise<void> {
    await this.bulk?.settle();
  }

  /** Check out one file object as `dir/name`. */
  file(dir: string, name: string, checksum: string): void {
    this.stats.files++;
    const dest = join(dir, name);
    const obj = statFileObject(this.repo, checksum);
    const h = obj.header;
    const isSym = isLnk(h.mode);
    if (!isSym && this.o.passthroughWhiteouts && name.startsWith(PASSTHROUGH_WHITEOUT_PREFIX)) {
      this.passthroughWhiteout(dir, name, obj);
      return;
    }
    if (!isSym && this.o.whiteouts && name.startsWith(WHITEOUT_PREFIX)) {
      const target = name.slice(WHITEOUT_PREFIX.length);
      if (!target) throw new ArborError("OBJECT_CORRUPT", `Invalid empty whiteout '${name}'`);
      if (name !== OPAQUE_WHITEOUT) fs.rmSync(join(dir, target), { recursive: true, force: true });
      return;
    }
    const zeroSized = !isSym && obj.size === 0;
    const unreadable = this.userMode && !isSym && (h.mode & 0o400) === 0;
    if (!zeroSized && !unreadable && !this.o.forceCopy) {
      const mode = this.repo.mode;
      const userRepo = mode === "bare-user" || mode === "bare-user-only";
      const hardlinkable = (mode === "bare" && !this.userMode) || (userRepo && this.userMode);
      const bareUserSymlink = userRepo && isSym;
      if (this.o.requireHardlinks && !hardlinkable && !bareUserSymlink) {
        throw new ArborError(
          "UNSUPPORTED",
          userRepo
            ? "User repository mode requires user checkout mode to hardlink"
            : "Bare repository mode cannot hardlink in user checkout mode",
        );
      }
      if (hardlinkable && !bareUserSymlink && this.hardlink(obj, dest)) return;
      if (this.cacheDir && !isSym && obj.size < BIG && this.hardlink(this.cachedCopy(obj), dest)) return;
    }
    this.copy(obj, dest, unreadable);
  }

  /**
   * The uncompressed copy of an archive object in `uncompressed-objects-cache/XX/REST.file`
   * (as ostree keeps it), written first if absent: a temporary file in the repo's tmp/, renamed in.
   * Large objects are not cached (they are streamed into the checkout instead).
   */
  private cachedCopy(obj: FileObject): FileObject {
    const cs = obj.checksum;
    const path = join(this.cacheDir!, cs.slice(0, 2), `${cs.slice(2)}.file`);
    if (!fs.existsSync(path)) {
      fs.mkdirSync(join(this.cacheDir!, cs.slice(0, 2)), { recursive: true, mode: 0o755 });
      const tmp = join(this.repo.path, "tmp", `uncompressed-${process.pid}-${cs.slice(0, 16)}`);
      fs.rmSync(tmp, { force: true });
      writeCopy(obj, tmp, this.finishOpts(false));
      fs.renameSync(tmp, path);
    }
    return { ...obj, path };
  }

  /** `.ostree-wh.NAME` → NAME as a char device 0:0 with the file's permission bits (and owner). */
  private passthroughWhiteout(dir: string, name: string, obj: FileObject): void {
    const target = name.slice(PASSTHROUGH_WHITEOUT_PREFIX.length);
    if (!target) throw new ArborError("OBJECT_CORRUPT", `Invalid empty whiteout '${name}'`);
    const dest = join(dir, target);
    if (this.overwrite === "union") fs.rmSync(dest, { force: true });
    try {
      native().mknodWhiteout(dest, obj.header.mode);
      if (!this.userMode) fs.lchownSync(dest, obj.header.uid, obj.header.gid);
    } catch (e) {
      if (errnoCode(e) === "EEXIST" && this.overwrite === "add") return;
      throw fromSystemError(`Cannot create whiteout "${dest}"`, e);
    }
  }

  /** Hardlink the object; false if the filesystem will not (then the caller copies). */
  private hardlink(obj: FileObject, dest: string): boolean {
    try {
      fs.linkSync(obj.path, dest);
      this.stats.hardlinked++;
      return true;
    } catch (e) {
      const c = errnoCode(e);
      if (!this.o.requireHardlinks && (c === "EMLINK" || c === "EXDEV" || c === "EPERM")) return false;
      if (c === "ENOENT")
        throw new ArborError(
          "OBJECT_NOT_FOUND",
          `Cannot check out "${dest}": content object ${obj.checksum} is missing`,
        );
      if (c !== "EEXIST") throw fromSystemError(`Cannot hardlink "${dest}"`, e);
    }
    if (this.overwrite === "add") return true;
    if (this.overwrite === "none") throw new ArborError("EXISTS", `Cannot check out "${dest}": File exists`);
    const src = fs.lstatSync(obj.path);
    const cur = fs.lstatSync(dest);
    const same = (src.dev === cur.dev && src.ino === cur.ino) || existingMatches(this.repo, obj, dest, cur);
    if (same) return true;
    if (this.overwrite === "identical")
      throw new ArborError("EXISTS", `Cannot check out "${dest}": File exists`);
    // union: link under a temporary name in the repo's tmp/, then rename over the file
    if (cur.isDirectory() && !this.o.whiteouts)
      throw new ArborError("EXISTS", `Cannot check out "${dest}": Is a directory`);
    const tmp = join(
      this.repo.path,
      "tmp",
      `checkout-union-${process.pid}-${Math.random().toString(36).slice(2)}`,
    );
    fs.linkSync(obj.path, tmp);
    if (this.o.whiteouts) fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(tmp, dest);
    this.stats.hardlinked++;
    return true;
  }

  /** Make room for a copy per the overwrite mode; false to keep what is there. */
  private makeRoom(obj: FileObject, dest: string): boolean {
    let cur: import("node:fs").Stats;
    try {
      cur = fs.lstatSync(dest);
    } catch {
      return true;
    }
    switch (this.overwrite) {
      case "none":
        throw new ArborError("EXISTS", `Cannot check out "${dest}": File exists`);
      case "add":
        return false;
      case "identical":
        if (existingMatches(this.repo, obj, dest, cur)) return false;
        throw new ArborError("EXISTS", `Cannot check out "${dest}": File exists`);
      case "union":
        if (this.o.whiteouts) fs.rmSync(dest, { recursive: true, force: true });
        else if (cur.isDirectory())
          throw new ArborError("EXISTS", `Cannot check out "${dest}": Is a directory`);
        else fs.unlinkSync(dest);
        return true;
    }
  }

  private copy(obj: FileObject, dest: string, unreadable: boolean): void {
    const deferred = obj.compressed && obj.size >= BIG && !isLnk(obj.header.mode);
    // with no overwrite mode, the exclusive create in writeCopy() refuses an existing path
    // (EEXIST) just as well as an lstat first would, for one system call less per file
    if ((deferred || this.overwrite !== "none") && !this.makeRoom(obj, dest)) return;
    if (deferred) {
      this.bigFiles.push({ obj, path: dest, unreadable });
      return;
    }
    try {
      writeCopy(obj, dest, this.finishOpts(unreadable));
    } catch (e) {
      if (this.overwrite === "none" && e instanceof ArborError && errnoCode(e.cause) === "EEXIST")
        throw new ArborError("EXISTS", `Cannot check out "${dest}": File exists`);
      throw e;
    }
    this.stats.copied++;
  }

  private finishOpts(unreadable: boolean): { userMode: boolean; unreadable: boolean } {
    return { userMode: this.userMode, unreadable };
  }

  async finishBigFiles(): Promise<void> {
    for (const { obj, path, unreadable } of this.bigFiles) {
      await writeCopy(obj, path, this.finishOpts(unreadable), true);
      this.stats.copied++;
    }
  }

  /**
   * Give the directories made mtime 0 (unless forceCopy) and, in bulk mode, their mode and owner
   * (not before: a read-only directory would refuse links still to be made in it). Children first
   * (reverse creation order) so that a parent's mtime is not changed again. After a native walk:
   * the directories of the subtrees it left, then those it made, then the root.
   */
  async finishDirs(): Promise<void> {
    this.finishMade();
    if (!this.walked) return;
    await native().checkoutTreeFinish!(this.walked.handle);
    this.dirsMade.push(this.walked.root);
    this.finishMade();
  }

  private finishMade(): void {
    for (let i = this.dirsMade.length - 1; i >= 0; i--) {
      const { path, meta } = this.dirsMade[i]!;
      if (this.bulk) this.setDirMode(path, meta);
      if (!this.o.forceCopy) fs.utimesSync(path, 0, 0);
    }
    this.dirsMade.length = 0;
  }
}

/**
 * Threads of a native checkout walk: one per core, at most 4. The work is mostly the kernel's
 * (mkdir, link, symlink on one filesystem); past the cores, threads only contend there.
 */
const TREE_THREADS = (): number => Math.min(4, Math.max(1, availableParallelism()));

/**
 * Check out a commit into `dest`.
 * @throws ArborError NOT_FOUND, EXISTS, PATH_ESCAPE, UNSUPPORTED, USAGE, OBJECT_NOT_FOUND, OBJECT_CORRUPT, IO
 */
export async function checkoutTree(repo: Repo, o: CheckoutOptions): Promise<CheckoutStats> {
  const cs = resolveRev(repo, o.rev)!;
  const commit = repo.loadCommit(cs);
  const co = new Checkout(repo, o);
  const sub = lookupPath(repo, commit.rootTree, commit.rootMeta, o.subpath ?? "/");
  if (!sub) {
    if (o.allowNoent) return co.stats;
    throw new ArborError("NOT_FOUND", `No such file or directory: ${o.subpath}`);
  }
  try {
    if (sub.kind === "file") {
      // a file subpath is checked out as DEST/NAME, DEST being created if needed
      try {
        fs.mkdirSync(o.dest);
      } catch (e) {
        if (errnoCode(e) !== "EEXIST") throw e;
        if (fs.lstatSync(o.dest).isSymbolicLink())
          throw new ArborError("PATH_ESCAPE", `Cannot check out into "${o.dest}": it is a symlink`);
      }
      co.file(o.dest, sub.name, sub.checksum);
    } else if (co.walksNatively) {
      await co.tree(o.dest, sub.tree, sub.meta);
    } else {
      co.dir(o.dest, sub.tree, sub.meta, "");
    }
    await co.finishBulk();
    await co.finishBigFiles();
    await co.finishDirs();
  } catch (e) {
    await co.settle();
    throw e instanceof ArborError ? e : fromSystemError(`Cannot check out ${o.rev} into "${o.dest}"`, e);
  }
  o.onProgress?.({ files: co.stats.files });
  return co.stats;
}
