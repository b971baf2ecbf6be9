/**
 * The native addon (`native/arbor_native.c`): the few Linux system calls Node's fs lacks — OFD
 * locks (ostree's repo and sysroot locks), xattrs that never follow symlinks, inode flags
 * (`chattr +i` on deployment roots), syncfs, renameat2 and FIFREEZE/FITHAW; `checkoutFiles` and
 * `checkoutDirs` (`native/checkout_files.c`), a hardlink checkout's inner loop; `checkoutTree`
 * (`native/checkout_tree.c`), a whole hardlink checkout below a fresh root; `writeObjectFile`
 * (`native/write_file.c`), an object file created in one thread-pool trip; `renameFiles` and
 * `fsyncPaths` (`native/rename_files.c`), a transaction's publishing renames and directory fsyncs
 * in a few trips; `readFiles`
 * (`native/read_files.c`), many small files read in one trip; `walkTrees`
 * (`native/walk_trees.c`), the dirtrees a repository holds walked for the objects it lacks; and
 * `deflateChunk` (`native/deflate_chunk.c`), a large file compressed in parallel chunks.
 *
 * The addon is loaded lazily, on the first call that needs it, so that commands which never lock,
 * touch xattrs or inode flags (`arbor rev-parse`, `arbor log`) do not pay for loading it.
 *
 * Errors thrown by the addon's functions are shaped like Node's system errors: `code` is the errno
 * name ("ENOENT", "ENODATA", "EAGAIN", "ENOTSUP", "EPERM"…), `errno` the negated errno value,
 * `syscall`, and `path`/`dest` where a path was involved. Callers wrap them with
 * `fromSystemError()` where they add meaning.
 */
import { createRequire } from "node:module";
import { ArborError } from "../errors.js";

/** A path or attribute name as the addon accepts it: a string, or raw bytes (no NUL bytes). */
export type NativePath = string | Uint8Array;

/** The functions exported by `arbor_native.node`. All are synchronous. */
export interface NativeAddon {
  /**
   * Take a whole-file OFD lock on `fd` (`F_OFD_SETLK`/`F_OFD_SETLKW`): a write lock if `exclusive`,
   * else a read lock. A write lock needs `fd` opened for writing. Falls back to `flock(2)` when the
   * kernel rejects OFD commands with EINVAL.
   * @returns true if taken; false when `wait` is false and another open file description holds a
   *   conflicting lock.
   * @throws Node system error (EBADF, EDEADLK, ENOLCK, EINTR…).
   */
  ofdLock(fd: number, exclusive: boolean, wait: boolean): boolean;
  /** Release the OFD (or fallback flock) lock held through `fd`. @throws Node system error (EBADF). */
  ofdUnlock(fd: number): void;
  /** Value of xattr `name` on `path` (a final symlink is not followed); null if absent (ENODATA). @throws Node system error (ENOENT, ENOTSUP, EACCES…). */
  lgetxattr(path: NativePath, name: NativePath): Buffer | null;
  /** Value of xattr `name` on the open file `fd`; null if absent. @throws Node system error. */
  fgetxattr(fd: number, name: NativePath): Buffer | null;
  /** Names of all xattrs on `path` (not following a final symlink), in kernel order. @throws Node system error. */
  llistxattr(path: NativePath): string[];
  /** Names of all xattrs on the open file `fd`. @throws Node system error. */
  flistxattr(fd: number): string[];
  /** Create or replace xattr `name` on `path` (not following a final symlink). @throws Node system error (ENOTSUP, EPERM, ENOSPC, E2BIG…). */
  lsetxattr(path: NativePath, name: NativePath, value: Uint8Array): void;
  /** mknod(path, S_IFCHR | (mode & 07777), 0:0): an overlayfs whiteout device. */
  mknodWhiteout(path: NativePath, mode: number): void;
  /** Create or replace xattr `name` on the open file `fd`. @throws Node system error. */
  fsetxattr(fd: number, name: NativePath, value: Uint8Array): void;
  /** Remove xattr `name` from `path` (not following a final symlink). @throws Node system error (ENODATA if absent). */
  lremovexattr(path: NativePath, name: NativePath): void;
  /** Remove xattr `name` from the open file `fd`. @throws Node system error (ENODATA if absent). */
  fremovexattr(fd: number, name: NativePath): void;
  /**
   * One directory of a drift walk (`native/scan_dir.c`, wrapped by managed/scan-dir.ts): lstat
   * each expected name of `dir` and, for files, their objects (`XX/REST` + `objectSuffix` under
   * the directory open as `objectsFd`); returns the unexpected names, or null if `dir` cannot be
   * read. Never throws for what is on disk.
   * @throws TypeError/RangeError for bad arguments only.
   */
  scanDir?(
    dir: string,
    files: ReadonlyArray<{ readonly name: string; readonly checksum: string }>,
    dirs: ReadonlyArray<{ readonly name: string }>,
    objectsFd: number,
    objectSuffix: string,
    out: Float64Array,
  ): string[] | null;
  /**
   * Inode flags (`FS_IOC_GETFLAGS`, what `lsattr` shows) of a regular file or directory; never
   * follows a final symlink and never opens device nodes.
   * @throws Node system error: ENOTSUP for other file types or filesystems without flags, ELOOP…
   */
  getInodeFlags(path: NativePath): number;
  /** Set inode flags (`FS_IOC_SETFLAGS`); changing the immutable/append bits needs CAP_LINUX_IMMUTABLE. @throws Node system error (EPERM, ENOTSUP…). */
  setInodeFlags(path: NativePath, flags: number): void;
  /** syncfs(2): flush the whole filesystem containing `fd`. @throws Node system error. */
  syncfs(fd: number): void;
  /**
   * Freeze then thaw (FIFREEZE, FITHAW) the filesystem containing `fd`, which checkpoints its
   * journal (GRUB does not replay an XFS journal). A detached watchdog process thaws it if this
   * process dies or stalls for `timeoutMs` (default 30000) in between; `stallMs` (tests only) waits
   * while frozen.
   * @returns true if frozen and thawed; false if freezing is impossible here (EOPNOTSUPP, ENOSYS,
   *   EPERM, EBUSY), in which case syncfs(2) was done instead.
   * @throws Node system error (syscall "ioctl(FIFREEZE)", "ioctl(FITHAW)", "syncfs", "fork"…).
   */
  freezeThaw(fd: number, timeoutMs?: number, stallMs?: number): boolean;
  /** renameat2(RENAME_NOREPLACE): rename, failing with EEXIST if `newPath` exists. @throws Node system error. */
  renameNoReplace(oldPath: NativePath, newPath: NativePath): void;
  /** renameat2(RENAME_EXCHANGE): atomically swap two existing paths. @throws Node system error. */
  renameExchange(a: NativePath, b: NativePath): void;
  /**
   * The hot loop of a hardlink checkout, on libuv's thread pool: check out each content object
   * `objectsDir/XX/REST.file` as `destDir/NAME` when the entry is *plain* for `kind` (see
   * {@link LinkKind}): a hardlink, or for bare-user a new symlink. Entries that are not plain, whose
   * link or symlink fails for any reason (EEXIST, EXDEV, EMLINK, ENOENT…), or whose name or
   * checksum looks odd are left alone: the caller checks those out itself, with its rules and
   * error messages. `destDir` exists.
   * @returns one status byte per entry: 0 not done, 1 hardlinked, 2 symlink made.
   * @throws TypeError/RangeError for bad arguments only (never for what is on disk).
   */
  checkoutFiles(
    objectsDir: NativePath,
    destDir: NativePath,
    files: ReadonlyArray<{ readonly name: string; readonly checksum: string }>,
    kind: LinkKind,
  ): Promise<Uint8Array>;
  /**
   * {@link checkoutFiles} for several directories (`[destDir, files]` pairs) in one trip to the
   * pool, in order. With `mkdirRoot` (a checkout's fresh root, above every `destDir`), each
   * `destDir` is made first (0700), with any parent below the root not made yet (a group may run
   * before its parents' group: parents are made without following symlinks; one another group
   * made is fine). Resolves with each directory's status bytes, or the system error (`syscall`
   * "mkdir") that stopped making it, its entries then not done.
   * @throws TypeError/RangeError for bad arguments only.
   */
  checkoutDirs?(
    objectsDir: NativePath,
    dirs: ReadonlyArray<
      readonly [NativePath, ReadonlyArray<{ readonly name: string; readonly checksum: string }>]
    >,
    kind: LinkKind,
    mkdirRoot?: NativePath,
  ): Promise<Array<Uint8Array | Error>>;
  /**
   * A whole hardlink checkout below the fresh, existing directory `root` (absolute), on
   * `options.threads` threads: reads the dirtrees and dirmetas from `objectsDir`, makes the
   * directories (0700 until {@link checkoutTreeFinish}) and checks out the plain entries as
   * {@link checkoutFiles} does (and, for bare-user and bare-user-only, empty files). What it does
   * not do comes back in `rest` (see {@link CheckoutTreeRest}), for the caller to do in `key`
   * order (tree order). Rejects only when the walk cannot run at all (objectsDir unreadable, out of
   * memory). `options.progress[0]` counts entries done while it runs.
   */
  checkoutTree?(
    objectsDir: string,
    root: string,
    rootTree: string,
    kind: LinkKind,
    options: { threads: number; userMode: boolean; canonical: boolean; progress?: Int32Array },
  ): Promise<CheckoutTreeResult>;
  /**
   * Give the directories {@link checkoutTree} made their mode, owner (unless in user mode) and
   * mtime 0, deepest first; once (a second call does nothing). Rejects with the system error
   * (`syscall` chmod, chown or utime; `path`) of the first that fails.
   */
  checkoutTreeFinish?(handle: CheckoutTreeHandle): Promise<void>;
  /**
   * Create the file `path`: write all of `data` into a new unnamed file (O_TMPFILE, 0600) in its
   * directory, then (uid/gid -1: unchanged) fchown, fchmod to `mode & 07777`, fsetxattr each
   * [name, value] pair of the flat `xattrs` array, set atime and mtime to 0 (unless `zeroTimes`
   * is false), link it at `path` (replacing a file there) and close: one trip to libuv's thread
   * pool (`native/write_file.c`). Where O_TMPFILE is missing the file is created at `path`
   * directly and may be left partly written on failure. `data` must not change until the promise
   * settles. With `unpack` ({@link ObjectUnpack}), `data` is inflated (and its digest checked) on
   * the pool first.
   * @returns a promise rejected with a Node system error naming the failing call
   *   (ENOSPC, EEXIST, EPERM, ENOTSUP…).
   * @throws TypeError/RangeError for bad arguments only.
   */
  writeObjectFile?(...args: ObjectFileWrite): Promise<void>;
  /**
   * Many {@link writeObjectFile} writes, one after the other, in a single trip to the thread pool
   * (one thread wake-up for the lot). Resolves with each item's outcome in order: undefined, or the
   * Node system error its write failed with (one failing does not stop the others).
   * @throws TypeError/RangeError for bad arguments in any item (nothing is written then).
   */
  writeObjectFiles?(items: ReadonlyArray<ObjectFileWrite>): Promise<Array<Error | undefined>>;
  /**
   * rename(2) each `[from, to]` pair, in order, in a single trip to the thread pool
   * (`native/rename_files.c`). Resolves with each pair's outcome: undefined, or the Node system
   * error its rename failed with (one failing does not stop the others).
   * @throws TypeError for bad arguments in any pair (nothing is renamed then).
   */
  renameFiles?(pairs: ReadonlyArray<readonly [NativePath, NativePath]>): Promise<Array<Error | undefined>>;
  /**
   * open (read-only), fsync and close each path (files or directories) in one trip to the pool
   * (`native/rename_files.c`). Resolves with each one's outcome in order: undefined, or the Node
   * system error (`syscall` "open" or "fsync", `path`) that stopped it.
   * @throws TypeError for bad arguments only.
   */
  fsyncPaths?(paths: readonly NativePath[]): Promise<Array<Error | undefined>>;
  /**
   * Read many files in a single trip to the thread pool (`native/read_files.c`): each path is
   * opened, fstat'ed and, when it holds at most `limit` bytes (≤ 64 MiB), read whole. Resolves
   * with each path's outcome in order: its bytes; its size (a number) when larger than `limit`
   * (not read); or the Node system error that stopped it (ENOENT…; EINVAL for a non-regular file).
   * @throws TypeError/RangeError for bad arguments (nothing is read then).
   */
  readFiles?(paths: ReadonlyArray<NativePath>, limit: number): Promise<Array<Buffer | number | Error>>;
  /**
   * {@link readFiles} for `[path, prefix]` pairs, each file read also hashed: its outcome is
   * `[bytes, hex SHA-256 of prefix ‖ bytes]` (or its size, or an error, as readFiles).
   * @throws TypeError/RangeError for bad arguments (nothing is read then).
   */
  readFilesHashed?(
    items: ReadonlyArray<readonly [NativePath, Uint8Array]>,
    limit: number,
  ): Promise<Array<readonly [Buffer, string] | number | Error>>;
  /**
   * Compress one chunk of a large file's data (raw deflate, level 6) on the thread pool, primed
   * with `dict` (the up to 32 KiB of data before it; null for the first chunk), ending with a sync
   * flush unless `last` (which finishes the stream): the outputs of consecutive chunks, written in
   * order, are one raw-deflate stream (`native/deflate_chunk.c`).
   * @throws TypeError/RangeError for bad arguments (a chunk over 16 MiB, a dictionary over 32 KiB).
   */
  deflateChunk?(data: Uint8Array, dict: Uint8Array | null, last: boolean): Promise<Buffer>;
  /**
   * Walk the dirtrees below `roots` (hex checksums of dirtrees in `objectsDir`) in one trip to
   * the thread pool (`native/walk_trees.c`): which objects they name are not in `objectsDir`.
   * Each field is a Buffer of 32-byte checksums, each listed once: `walked` (dirtrees read and
   * walked), `missingFiles` (content objects `XX/REST.<contentExt>` absent), `missingMetas`,
   * `missingTrees` (dirtrees absent: not walked), `unread` (dirtrees present but not read here:
   * unreadable, or not a plain well-formed dirtree; the caller decodes them itself).
   * @throws TypeError/RangeError for bad arguments; the promise rejects with a system error when
   * `objectsDir` cannot be opened.
   */
  walkTrees?(
    objectsDir: string,
    roots: readonly string[],
    contentExt: "file" | "filez",
  ): Promise<{
    walked: Buffer;
    missingFiles: Buffer;
    missingMetas: Buffer;
    missingTrees: Buffer;
    unread: Buffer;
  }>;
  /** `FS_IMMUTABLE_FL` (`chattr +i`). */
  readonly FS_IMMUTABLE_FL: number;
  /** `FS_APPEND_FL` (`chattr +a`). */
  readonly FS_APPEND_FL: number;
  /** Set when `writeObjectFile` takes `data` as an array of chunks with `unpack` (see {@link ObjectFileWrite}). */
  readonly UNPACK_CHUNKS?: boolean;
}

/**
 * The arguments of {@link NativeAddon.writeObjectFile}: `[path, data, mode, uid, gid, xattrs,
 * zeroTimes?, unpack?]`, also one item of `writeObjectFiles`.
 */
export type ObjectFileWrite = readonly [
  path: NativePath,
  /** With `unpack` (and an addon with `UNPACK_CHUNKS`), also an array of chunks read in order. */
  data: Uint8Array | readonly Uint8Array[],
  mode: number,
  uid: number,
  gid: number,
  xattrs: ReadonlyArray<NativePath | Uint8Array>,
  zeroTimes?: boolean,
  unpack?: ObjectUnpack,
  /** The file holds `pack ‖ raw-deflate(data)` (level 6): an archive object; not with `unpack`. */
  pack?: Uint8Array,
];

/**
 * `writeObjectFile`'s optional last argument: `data` is a raw-deflate stream that must inflate to
 * exactly `size` bytes (at most 64 MiB), which are what is written; with `prefix` and `expected`
 * (a 32-byte digest), SHA-256(prefix ‖ inflated data) must equal `expected`. Checked before the
 * file is created: a refused body creates nothing and the write rejects with an Error whose `code`
 * is "ERR_ARBOR_INFLATE" (the message says what is wrong) or "ERR_ARBOR_CHECKSUM" (`actual`: the
 * hex digest of what was received).
 */
export type ObjectUnpack = readonly [size: number, prefix: Uint8Array | null, expected: Uint8Array | null];

/**
 * Which objects `checkoutFiles()` handles (what `checkout` hardlinks in each repo mode, and the
 * symlinks of bare-user repos):
 * - 0, bare repo, normal checkout: a regular file with data, or a symlink: hardlinked;
 * - 1, bare-user repo, user mode: `user.ostreemeta` without xattrs, and a regular-file mode
 *   readable by its owner (with data: hardlinked), or a symlink mode with a NUL-terminated UTF-8
 *   target (a symlink is made);
 * - 2, bare-user-only repo: a regular file with data readable by its owner: hardlinked.
 */
/** Opaque: the directories a {@link NativeAddon.checkoutTree} walk made. */
export type CheckoutTreeHandle = { readonly __checkoutTreeHandle: unique symbol };

/**
 * An entry a native checkout walk did not do: `[0, key, rel, name, checksum]` a file of the
 * directory `rel`; `[1, key, rel, null, tree, meta]` the directory `rel`, not made, for the
 * caller to check out whole; `[2, key, rel, null, null, null, error]` the directory `rel`, which
 * could not be made (or opened). `rel` is "" for the root, else "/a/b"; `key` sorts them in tree
 * order (Buffer.compare).
 */
export type CheckoutTreeRest =
  | readonly [0, Buffer, string, string, string, null, null]
  | readonly [1, Buffer, string, null, string, string, null]
  | readonly [2, Buffer, string, null, null, null, NodeJS.ErrnoException];

export interface CheckoutTreeResult {
  dirs: number;
  linked: number;
  symlinked: number;
  created: number;
  rest: CheckoutTreeRest[];
  handle: CheckoutTreeHandle;
}

export type LinkKind = 0 | 1 | 2;

/** `FS_IMMUTABLE_FL` from `<linux/fs.h>`, available without loading the addon. */
export const FS_IMMUTABLE_FL = 0x10;
/** `FS_APPEND_FL` from `<linux/fs.h>`, available without loading the addon. */
export const FS_APPEND_FL = 0x20;

// Relative to this module: `src/io/` under vitest/tsx and `dist/io/` after tsc are both two levels
// below the package root, so the same relative path finds `native/build/Release/`.
const ADDON_PATH = "../../native/build/Release/arbor_native.node";

let addon: NativeAddon | undefined;
let loadError: ArborError | undefined;

/**
 * The native addon, loaded on first use.
 * @throws ArborError `UNSUPPORTED` if the addon has not been built (or cannot be loaded on this
 *   platform); the message says how to build it.
 */
export function native(): NativeAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  try {
    const require = createRequire(import.meta.url);
    addon = require(ADDON_PATH) as NativeAddon;
    return addon;
  } catch (e) {
    loadError = new ArborError(
      "UNSUPPORTED",
      `Cannot load the native addon "native/build/Release/arbor_native.node": ${
        e instanceof Error ? e.message.split("\n")[0] : String(e)
      }: run "npm ci" or "npm run build:native" (needs a C compiler and Node headers)`,
      { cause: e },
    );
    throw loadError;
  }
}

/** True if the native addon can be loaded (loads it as a side effect). Never throws. */
export function hasNative(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
