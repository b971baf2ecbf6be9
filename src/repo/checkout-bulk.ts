/**
 * Bulk checkout of a hardlink checkout's plain files: each directory's files go to the native
 * `checkoutFiles()` in one call, which hardlinks (or, for bare-user symlinks, makes) them on
 * libuv's thread pool while the main thread goes on reading dirtrees and making directories.
 *
 * The native side only does the plain cases and leaves everything else "not done"; once every
 * batch has finished, the checkout handles those entries itself, in tree order, with its usual
 * rules and error messages. So a checkout that succeeds makes what the file-by-file path makes.
 * One that fails reports the first failing entry in tree order too, but the destination (to be
 * discarded, as after any failed checkout) may hold more of the tree, with directories still
 * 0700: the other directories' batches ran, and modes are set last.
 */
import type { DirtreeFile } from "../core/metadata.js";
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
  // an addon built before checkoutFiles existed: file by file (`npm run build:native` updates it)
  return kind !== null && hasNative() && typeof native().checkoutFiles === "function" ? kind : null;
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

/** The batches of one checkout, in tree order. */
export class BulkFiles {
  private readonly batches: Batch[] = [];

  constructor(
    private readonly objectsDir: string,
    private readonly kind: LinkKind,
  ) {}

  /** Start checking out `files` into `dir` (`rel`: its path in the checkout). */
  queue(dir: string, rel: string, files: DirtreeFile[]): void {
    if (files.length === 0) return;
    const status = native().checkoutFiles(this.objectsDir, dir, files, this.kind);
    // a rejection is seen by finish() or settle(); never leave it unhandled meanwhile
    status.catch(() => {});
    this.batches.push({ dir, rel, files, status });
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
    try {
      for (const b of this.batches) {
        const status = await b.status;
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
    await Promise.allSettled(this.batches.map((b) => b.status));
    this.batches.length = 0;
  }
}
