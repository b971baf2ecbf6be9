/**
 * Walks a commit's tree and fetches every object the repository lacks, several at a time, each
 * verified before it is staged (objects.ts). Metadata is fetched before content so the walk keeps
 * discovering work (content is stored unverified only for `--mirror --http-trusted` into an archive
 * repository, trusted-content.ts); dirtrees already in the repository are read locally and still walked (a
 * partial commit may lack objects below them).
 *
 * Why batches: the staged objects are published (Transaction.commit: syncfs, renames) every 10 to 30
 * seconds, so a pull killed at any moment keeps what it already proved, and the re-run fetches
 * only what is missing. A batch boundary waits for in-flight fetches, so no object is half in one
 * batch. Objects published without their commit are merely unreferenced (fsck-clean); the commit
 * itself is marked partial (state/C.commitpartial) until its whole tree is durable.
 */
import type { Commit } from "../core/metadata.js";
import { decodeDirtree } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { fileDataStream, statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import type { Fetcher } from "./fetcher.js";
import { fetchContentInto, fetchMetadata, verifyMetadata } from "./objects.js";
import type { PullStats } from "./progress.js";
import { fetchTrustedContentInto } from "./trusted-content.js";

/** Longest interval between two published batches (ms). */
const MAX_BATCH_MS = 30_000;

type Task =
  | { kind: "dirtree"; cs: string; path: string }
  | { kind: "dirmeta"; cs: string }
  | { kind: "file"; cs: string };

export interface ObjectPullerOptions {
  repo: Repo;
  fetcher: Fetcher;
  stats: PullStats;
  /** Repositories to copy objects from before using the network (`--localcache-repo`). */
  localCaches?: Repo[];
  /** Only these subtrees (absolute paths, e.g. `/usr/bin`); default everything. */
  subpaths?: string[];
  /** Fetches in flight (default 8). */
  concurrency?: number;
  /** Refuse regular files with mode bits outside 0775 (`--bareuseronly-files`). */
  bareUserOnlyFiles?: boolean;
  /**
   * Store content objects as fetched, unverified (`--mirror --http-trusted` into an archive
   * repository; the caller decides with trusted-content.ts's `trustedHttpDirect`).
   */
  trustedContent?: boolean;
  /**
   * Publish staged objects after this long (ms, default 10 000); each later batch waits twice as
   * long as the one before, up to 30 s, so a long pull pays few publish rounds (each a syncfs, up
   * to 256 directory fsyncs and a pause of the fetches) while a killed one still keeps all but its
   * last seconds of work. (With 5 s, a 6 s pull of the Debian minbase tree paid two rounds.)
   */
  batchMs?: number;
  onProgress?: (s: PullStats) => void;
  signal?: AbortSignal;
}

function under(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(`${root}/`);
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

/** Fetches objects into a sequence of transactions; see the file comment. */
export class ObjectPuller {
  private tx: Transaction;
  private readonly meta: Task[] = [];
  private readonly content: Task[] = [];
  private readonly seen = new Set<string>();
  private readonly scanned = new Set<string>();
  private readonly active = new Set<Promise<void>>();
  private lastFlush = Date.now();
  private batchInterval = 0;
  private error: unknown = null;
  private activeMeta = 0;

  private constructor(
    private readonly o: ObjectPullerOptions,
    tx: Transaction,
  ) {
    this.tx = tx;
  }

  /** Begin the first transaction. @throws ArborError LOCKED */
  static async start(o: ObjectPullerOptions): Promise<ObjectPuller> {
    return new ObjectPuller(o, await Transaction.begin(o.repo, { signal: o.signal }));
  }

  /** The transaction objects are currently staged in. */
  get transaction(): Transaction {
    return this.tx;
  }

  /** Bytes of content written so far (all batches). */
  private writtenBefore = 0;

  private note(): void {
    const s = this.o.stats;
    s.outstanding = this.active.size;
    s.scanning = this.meta.length > 0 || this.activeMeta > 0;
    s.bytesTransferred = this.o.fetcher.bytesTransferred;
    s.contentBytesWritten = this.writtenBefore + this.tx.stats.contentBytesWritten;
    s.elapsedMs = Date.now() - s.startMs;
    this.o.onProgress?.(s);
  }

  private enqueue(t: Task): void {
    const key = `${t.cs}.${t.kind}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const type = t.kind === "file" ? "file" : t.kind;
    if (t.kind !== "dirtree" && this.tx.has(type, t.cs)) return;
    this.o.stats.requested++;
    (t.kind === "file" ? this.content : this.meta).push(t);
  }

  private wanted(path: string, isDir: boolean): boolean {
    const subs = this.o.subpaths;
    if (!subs || subs.length === 0) return true;
    return subs.some((s) => under(path, s) || (isDir && under(s, path)));
  }

  /** Queue the tree of `commit` (root dirtree + dirmeta). */
  addCommitTree(commit: Commit): void {
    this.enqueue({ kind: "dirmeta", cs: commit.rootMeta });
    this.enqueue({ kind: "dirtree", cs: commit.rootTree, path: "/" });
  }

  private scan(cs: string, path: string, bytes: Uint8Array): void {
    const t = decodeDirtree(bytes, `dirtree ${cs}`);
    for (const f of t.files) {
      if (this.wanted(join(path, f.name), false)) this.enqueue({ kind: "file", cs: f.checksum });
    }
    for (const d of t.dirs) {
      const p = join(path, d.name);
      if (!this.wanted(p, true)) continue;
      this.enqueue({ kind: "dirmeta", cs: d.meta });
      this.enqueue({ kind: "dirtree", cs: d.tree, path: p });
    }
  }

  private fromCacheMetadata(type: "dirtree" | "dirmeta", cs: string): Uint8Array | null {
    for (const c of this.o.localCaches ?? []) {
      const b = c.readMetadataMaybe(type, cs);
      if (!b) continue;
      try {
        verifyMetadata(type, cs, b);
        return b;
      } catch {
        // a corrupt cache entry: fetch it instead
      }
    }
    return null;
  }

  private async fromCacheContent(cs: string): Promise<boolean> {
    for (const c of this.o.localCaches ?? []) {
      if (!c.hasObject("file", cs)) continue;
      try {
        const obj = statFileObject(c, cs);
        if (obj.size === 0 || obj.header.symlinkTarget) {
          await this.tx.writeContent(obj.header, new Uint8Array(0), cs);
        } else {
          await this.tx.writeContentStream(obj.header, obj.size, fileDataStream(obj), cs);
        }
        return true;
      } catch {
        // corrupt or unreadable: fetch it instead
      }
    }
    return false;
  }

  private async run(t: Task): Promise<void> {
    const s = this.o.stats;
    if (t.kind === "file") {
      if (this.tx.has("file", t.cs)) return;
      if (await this.fromCacheContent(t.cs)) {
        s.importedContent++;
        return;
      }
      if (this.o.trustedContent) await fetchTrustedContentInto(this.o.fetcher, this.tx, t.cs, this.o.signal);
      else
        await fetchContentInto(this.o.fetcher, this.tx, t.cs, this.o.signal, {
          bareUserOnlyFiles: this.o.bareUserOnlyFiles ?? false,
        });
      s.fetchedContent++;
      return;
    }
    if (t.kind === "dirmeta") {
      if (this.tx.has("dirmeta", t.cs)) return;
      let b = this.fromCacheMetadata("dirmeta", t.cs);
      if (b) s.importedMetadata++;
      else {
        b = await fetchMetadata(this.o.fetcher, "dirmeta", t.cs, this.o.signal);
        s.fetchedMetadata++;
      }
      await this.tx.writeMetadataAsync("dirmeta", b, t.cs);
      return;
    }
    // dirtree: walk it whether it is new or already here
    if (this.scanned.has(t.cs)) return;
    this.scanned.add(t.cs);
    let b = this.o.repo.readMetadataMaybe("dirtree", t.cs);
    if (!b) {
      b = this.fromCacheMetadata("dirtree", t.cs);
      if (b) s.importedMetadata++;
      else {
        b = await fetchMetadata(this.o.fetcher, "dirtree", t.cs, this.o.signal);
        s.fetchedMetadata++;
      }
      await this.tx.writeMetadataAsync("dirtree", b, t.cs); // verified before it is walked
    }
    this.scan(t.cs, t.path, b);
  }

  private launch(t: Task): void {
    const isMeta = t.kind !== "file";
    if (isMeta) this.activeMeta++;
    const p: Promise<void> = this.run(t)
      .catch((e) => {
        this.error ??= e;
      })
      .finally(() => {
        if (isMeta) this.activeMeta--;
        this.active.delete(p);
        this.note();
      });
    this.active.add(p);
  }

  /**
   * Fetch everything queued, publishing in batches.
   * @throws the first fetch/verify error, after in-flight fetches have settled.
   */
  async drain(): Promise<void> {
    const max = this.o.concurrency ?? 8;
    if (this.batchInterval === 0) this.batchInterval = this.o.batchMs ?? 10_000;
    for (;;) {
      if (this.o.signal?.aborted) this.error ??= new ArborError("ABORTED", "Operation was cancelled");
      const due = Date.now() - this.lastFlush >= this.batchInterval;
      while (!this.error && !due && this.active.size < max && (this.meta.length || this.content.length)) {
        // metadata first: it discovers the rest of the tree
        this.launch((this.meta.length ? this.meta.shift() : this.content.shift())!);
      }
      if (this.active.size === 0) {
        if (this.error) throw this.error;
        if (!this.meta.length && !this.content.length) break;
        if (due) await this.flush();
        continue;
      }
      await Promise.race(this.active);
    }
    this.o.stats.scanning = false;
    this.note();
  }

  /** Publish what is staged and start a new transaction. */
  async flush(): Promise<void> {
    const written = this.tx.stats.contentBytesWritten;
    await this.tx.commit();
    this.writtenBefore += written;
    this.tx = await Transaction.begin(this.o.repo, { signal: this.o.signal });
    this.lastFlush = Date.now();
    this.batchInterval = Math.max(this.batchInterval, Math.min(2 * this.batchInterval, MAX_BATCH_MS));
  }

  /** Publish what is staged; the puller is finished. */
  async finish(): Promise<void> {
    const written = this.tx.stats.contentBytesWritten;
    await this.tx.commit();
    this.writtenBefore += written;
    this.o.stats.contentBytesWritten = this.writtenBefore;
  }

  /** Drop what is staged (on failure), once the writes under way have finished. */
  async abort(): Promise<void> {
    await this.tx.abort();
  }
}
