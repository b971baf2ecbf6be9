/**
 * The import context of a commit (`Importer`): what every tree source (import-dir.ts, import-tar.ts,
 * import-cpio.ts, import-ref.ts) shares while it fills the MutableTree — the content sink (a
 * transaction, or hashing only for a dry run), the modifiers (`--owner-uid`, `--statoverride`,
 * `--skip-list`, …) with their bookkeeping of unmatched paths, the dirmeta cache, the
 * `--link-checkout-speedup` cache and the progress counters. commit.ts drives it.
 */
import type { FileHeader, Xattrs } from "../core/content-header.js";
import { encodeDirmeta } from "../core/metadata.js";
import { S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from "../core/mode.js";
import { ArborError } from "../errors.js";
import { Pool } from "../io/pool.js";
import type { DevinoCache } from "./devino-cache.js";
import type { MutableTree } from "./mutable-tree.js";
import type { Repo } from "./repo.js";

/** The modifiers of `commit` that change what is recorded for each path. */
export interface CommitModifiers {
  ownerUid?: number;
  ownerGid?: number;
  canonicalPermissions?: boolean;
  noXattrs?: boolean;
  /** Paths (absolute in the tree, e.g. `/usr/bin/x`) to leave out. */
  skipList?: Set<string>;
  /** Path → mode bits to add (`+MODE`) or set (`=MODE`), as `--statoverride`. */
  statOverride?: Map<string, { op: "add" | "set"; mode: number }>;
  /** `--mode-ro-executables`: regular files with any execute bit lose their write bits. */
  modeRoExecutables?: boolean;
}

/** Sink for imported content: writes objects or, for a dry run, only hashes. */
export interface ContentSink {
  /** Store content; `checksum`, when given, was computed from these very bytes (not hashed again). */
  content(header: FileHeader, data: Uint8Array, checksum?: string): Promise<string>;
  stream(header: FileHeader, size: number, data: AsyncIterable<Uint8Array>): Promise<string>;
  metadata(type: "dirmeta" | "dirtree", bytes: Uint8Array): string;
  /** `--consume`: take over a regular file as its object (null: store it normally). */
  adopt?(header: FileHeader, path: string, size: number): Promise<string | null>;
}

/** Import context shared by the tree sources. */
export class Importer {
  readonly pool = new Pool(6);
  files = 0;
  bytes = 0;
  /** (device, inode) → object, when committing with `--link-checkout-speedup`. */
  devino: DevinoCache | null = null;
  /** `--devino-canonical`: take every hit of {@link devino} before any modifier. */
  devinoCanonical = false;
  /** Files recorded from {@link devino} without being read. */
  devinoHits = 0;
  private dirmetaCache = new Map<string, string>();
  /**
   * Skip-list paths and `+MODE` statoverride paths that no entry has matched yet: ostree refuses a
   * commit that leaves any (a typo in either file would otherwise be silently ignored).
   */
  private readonly unmatchedSkips: Set<string>;
  private readonly unmatchedAdds: Set<string>;

  constructor(
    readonly repo: Repo,
    readonly sink: ContentSink,
    readonly mods: CommitModifiers,
    readonly onProgress?: (p: { files: number; bytes: number }) => void,
  ) {
    this.unmatchedSkips = new Set(mods.skipList ?? []);
    this.unmatchedAdds = new Set(
      [...(mods.statOverride ?? [])].filter(([, o]) => o.op === "add").map(([path]) => path),
    );
  }

  /**
   * True if `path` is in the skip list (`--skip-list`); the entry then counts as matched, and so
   * does a `+MODE` statoverride of the same path (ostree's filter applies those before skipping).
   */
  skips(path: string): boolean {
    if (!this.mods.skipList?.has(path)) return false;
    this.unmatchedSkips.delete(path);
    if (this.mods.statOverride?.get(path)?.op === "add") this.unmatchedAdds.delete(path);
    return true;
  }

  /**
   * After every tree is imported: refuse the commit if a `+MODE` statoverride path or a skip-list
   * path matched nothing, as ostree does (statoverride first). `data.unmatched` holds the lines
   * ostree prints before the error, one per path.
   * @throws ArborError NOT_FOUND "Unmatched statoverride paths" / "Unmatched skip-list paths"
   */
  checkAllMatched(): void {
    for (const [set, what] of [
      [this.unmatchedAdds, "statoverride"],
      [this.unmatchedSkips, "skip-list"],
    ] as const) {
      if (set.size === 0) continue;
      const unmatched = [...set].map((p) => `Unmatched ${what} path: ${p}`);
      throw new ArborError("NOT_FOUND", `Unmatched ${what} paths`, { data: { unmatched } });
    }
  }

  /** Apply --owner-uid/gid, --canonical-permissions, --no-xattrs, --statoverride. */
  modify(
    path: string,
    uid: number,
    gid: number,
    mode: number,
    xattrs: Xattrs,
  ): { uid: number; gid: number; mode: number; xattrs: Xattrs } {
    const m = this.mods;
    if (m.ownerUid !== undefined) uid = m.ownerUid;
    if (m.ownerGid !== undefined) gid = m.ownerGid;
    if (m.modeRoExecutables && (mode & S_IFMT) === S_IFREG && (mode & 0o111) !== 0) mode &= ~0o222;
    const so = m.statOverride?.get(path);
    if (so) {
      if (so.op === "add") this.unmatchedAdds.delete(path);
      mode = so.op === "set" ? (mode & S_IFMT) | so.mode : mode | so.mode;
    }
    if (m.canonicalPermissions || this.repo.mode === "bare-user-only") {
      uid = 0;
      gid = 0;
      if ((mode & S_IFMT) !== S_IFLNK) mode = (mode & S_IFMT) | (mode & 0o755);
      xattrs = [];
    }
    if (m.noXattrs) xattrs = [];
    return { uid, gid, mode, xattrs };
  }

  dirmeta(uid: number, gid: number, mode: number, xattrs: Xattrs): string {
    const bytes = encodeDirmeta({ uid, gid, mode: (mode & 0o7777) | S_IFDIR, xattrs });
    const key = Buffer.from(bytes).toString("latin1");
    let cs = this.dirmetaCache.get(key);
    if (!cs) {
      cs = this.sink.metadata("dirmeta", bytes);
      this.dirmetaCache.set(key, cs);
    }
    return cs;
  }

  /** Record `name` in `dir` as object `checksum` it is a hardlink of (nothing read or written). */
  takeHit(dir: MutableTree, name: string, checksum: string, size: number): void {
    dir.replaceFile(name, checksum);
    this.devinoHits++;
    this.progress(size);
  }

  progress(size: number): void {
    this.files++;
    this.bytes += size;
    this.onProgress?.({ files: this.files, bytes: this.bytes });
  }
}
