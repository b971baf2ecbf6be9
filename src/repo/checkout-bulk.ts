/**
 * Bulk checkout of a hardlink checkout's plain files, where the native tree walk
 * (`native/checkout_tree.c`) does not go: over an existing destination (union modes), and the
 * subtrees the walk leaves to JS. Each directory's files go to the native
 * `checkoutFiles()` in one call, which hardlinks (or, for bare-user symlinks, makes) them on
 * libuv's thread pool while the main thread goes on reading dirtrees. Below a fresh destination
 * root the directory itself is made there too, and consecutive directories (tree order) go in
 * groups, one trip each (`checkoutDirs`): on ext4 a mkdir costs about as much as the links of a
 * small directory, and made on the main thread, with a trip per directory, they were a third of
 * a checkout's time.
 *
 * The native side only does the plain cases and leaves everything else "not done"; once every
 * batch has finished, the checkout handles those entries itself, in tree order, with its usual
 * rules and error messages. So a checkout that succeeds makes what the file-by-file path makes.
 * One that fails reports the first failing entry in tree order too, but the destination (to be
 * discarded, as after any failed checkout) may hold more of the tree, with directories still
 * 0700: the other directories' batches ran, and modes are set last.
 */
import { resolve } from "node:path";
import type { DirtreeFile } from "../core/metadata.js";
import { fromSystemError } from "../errors.js";
import { hasNative, type LinkKind, native } from "../io/native.js";
import type { RepoMode } from "./repo.js";

/** What decides whether (and how) a checkout can use the bulk path. */
export interface BulkChoice {
  mode: RepoMode;
  userMode: boolean;
  forceCopy?: boolean;
  whiteouts?: boolean;
  passthroughWhiteouts?: boolean;
  skipList?: Set<string>;
}

/**
 * The native kind for this checkout, or null for file by file. The bulk path does what the
 * checkout does for plain objects, so it is used only where the checkout hardlinks at all (bare
 * in normal mode, bare-user in user mode, bare-user-only), and not with options that look at
 * names (whiteouts, skip lists), nor without the native addon (or with one built before it).
 */
export function bulkLinkKind(c: BulkChoice): LinkKind | null {
  if (c.forceCopy || c.whiteouts || c.passthroughWhiteouts || c.skipList) return null;
  let kind: LinkKind | null = null;
  if (c.mode === "bare" && !c.userMode) kind = 0;
  else if (c.mode === "bare-user" && c.userMode) kind = 1;
  else if (c.mode === "bare-user-only") kind = 2;
  // an addon built before checkoutDirs existed: file by file (`npm run build:native` updates it)
  return kind !== null && hasNative() && typeof native().checkoutDirs === "function" ? kind : null;
}

interface Batch {
  dir: string;
  rel: string;
  files: DirtreeFile[];
  status: Promise<Uint8Array>;
}

/** What the native side did with an entry. */
export const NOT_DONE = 0;
export const HARDLINKED = 1;
export const SYMLINKED = 2;

/** A group of directories made and checked out in one trip goes at this many of each. */
const GROUP_DIRS = 16;
const GROUP_FILES = 128;

/** The batches of one checkout, in tree order. */
export class BulkFiles {
  private readonly batches: Batch[] = [];
  /** Directories to make below the root, waiting to be sent as one group. */
  private group: Array<{ dest: string; files: DirtreeFile[]; settle: (r: Uint8Array | Error) => void }> = [];
  private groupFiles = 0;
  /** The root, absolute: the native side finds a directory's parents below it by their path. */
  private readonly absRoot: string;

  /** @param root the checkout's destination root (made already; `queueNew` makes below it) */
  constructor(
    private readonly objectsDir: string,
    private readonly kind: LinkKind,
    root: string,
  ) {
    this.absRoot = resolve(root);
  }

  /** Start checking out `files` into the existing directory `dir` (`rel`: its path in the checkout). */
  queue(dir: string, rel: string, files: DirtreeFile[]): void {
    if (files.length === 0) return;
    const status = native().checkoutFiles(this.objectsDir, dir, files, this.kind);
    // a rejection is seen by finish() or settle(); never leave it unhandled meanwhile
    status.catch(() => {});
    this.batches.push({ dir, rel, files, status });
  }

  /**
   * Make the directory `dir` at `rel` below the fresh checkout root and check out `files` into
   * it; sent with the next ones in tree order as one group.
   */
  queueNew(dir: string, rel: string, files: DirtreeFile[]): void {
    let settle!: (r: Uint8Array | Error) => void;
    const status = new Promise<Uint8Array>((ok, fail) => {
      settle = (r) => (r instanceof Error ? fail(r) : ok(r));
    });
    status.catch(() => {});
    this.batches.push({ dir, rel, files, status });
    this.group.push({ dest: this.absRoot + rel, files, settle });
    this.groupFiles += files.length;
    if (this.group.length >= GROUP_DIRS || this.groupFiles >= GROUP_FILES) this.send();
  }

  /** Send the directories waiting as one group. */
  private send(): void {
    const group = this.group;
    if (group.length === 0) return;
    this.group = [];
    this.groupFiles = 0;
    native().checkoutDirs!(
      this.objectsDir,
      group.map((g) => [g.dest, g.files] as const),
      this.kind,
      this.absRoot,
    ).then(
      (results) => {
        for (let i = 0; i < group.length; i++) group[i]!.settle(results[i]!);
      },
      (e: Error) => {
        for (const g of group) g.settle(e);
      },
    );
  }

  /**
   * Wait for every batch, then, in tree order, report each entry: `done(what)` for those the
   * native side did, `rest(dir, rel, file)` for the others (which the caller checks out itself).
   * On a throw, the remaining batches are still waited for (nothing runs on after it returns).
   */
  async finish(
    done: (what: typeof HARDLINKED | typeof SYMLINKED) => void,
    rest: (dir: string, rel: string, file: DirtreeFile) => void,
  ): Promise<void> {
    this.send();
    try {
      for (const b of this.batches) {
        let status: Uint8Array;
        try {
          status = await b.status;
        } catch (e) {
          // the directory could not be made (the only failure the batch reports)
          throw fromSystemError(`Cannot create directory "${b.dir}"`, e);
        }
        for (let i = 0; i < b.files.length; i++) {
          const s = status[i];
          if (s === HARDLINKED || s === SYMLINKED) done(s);
          else rest(b.dir, b.rel, b.files[i]!);
        }
      }
    } finally {
      await this.settle();
    }
  }

  /** Wait until no batch is running (after a failure elsewhere), ignoring their results. */
  async settle(): Promise<void> {
    this.send();
    await Promise.allSettled(this.batches.map((b) => b.status));
    this.batches.length = 0;
  }
}
