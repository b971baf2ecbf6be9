/** The options and result of `checkoutTree()` (checkout.ts). */

export interface CheckoutOptions {
  /** Revision (ref or checksum) to check out. */
  rev: string;
  dest: string;
  /** Check out only this path of the tree (e.g. `/usr/share`). */
  subpath?: string;
  /** -U: don't set owners or xattrs; strip setuid/setgid from files. */
  userMode?: boolean;
  /** Overwrite existing files. */
  union?: boolean;
  /** Keep existing files, add new ones. */
  unionAdd?: boolean;
  /** Existing files must be identical to the tree's. */
  unionIdentical?: boolean;
  /** -H: fail rather than copy when a hardlink is not possible. */
  requireHardlinks?: boolean;
  /** -C: always copy, never hardlink (directories keep their real mtime). */
  forceCopy?: boolean;
  /**
   * In user mode from an archive repo, keep uncompressed copies in `uncompressed-objects-cache/`
   * and hardlink from them, as the `ostree checkout` command does unless `--disable-cache` (and
   * unless `core.enable-uncompressed-cache=false`). Off by default, as in libostree: callers that
   * modify the checked-out files must not share inodes with the cache.
   */
  uncompressedCache?: boolean;
  /** -M: directories get `mode & 0775`. */
  bareuseronlyDirs?: boolean;
  /** `--process-passthrough-whiteouts`: a regular file `.ostree-wh.NAME` becomes NAME, an overlayfs whiteout (char device 0:0). */
  passthroughWhiteouts?: boolean;
  /** Process OCI/overlayfs whiteouts (`.wh.NAME` deletes NAME). */
  whiteouts?: boolean;
  /** With --subpath: succeed with nothing done if the path does not exist. */
  allowNoent?: boolean;
  /** Paths (relative to the checked-out root, starting with `/`) not to check out. */
  skipList?: Set<string>;
  onProgress?: (p: { files: number }) => void;
}

export interface CheckoutStats {
  files: number;
  hardlinked: number;
  copied: number;
  dirs: number;
}

/** How existing destination paths are treated. */
export type Overwrite = "none" | "union" | "add" | "identical";
