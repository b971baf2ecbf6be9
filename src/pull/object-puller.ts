/**
 * Walks a commit's tree and fetches every object the repository lacks, several at a time, each
 * verified before it is staged (objects.ts). Metadata is fetched before content so the walk keeps
 * discovering work (content is stored unverified only for `--mirror --http-trusted` into an archive
 * repository, trusted-content.ts); dirtrees already in the repository are read locally and still walked (a
 * partial commit may lack objects below them). That local walk runs beside the fetches rather
 * than in their slots: an update pull walks ~700 dirtrees it holds to find the ~200 objects it
 * lacks. With the addon (and no `--subpath`), the dirtrees held are walked in one thread-pool trip
 * per group found (`walkTrees`, native/walk_trees.c), which says what is missing below them;
 * otherwise, and for a dirtree that walker leaves to JS, they are read in groups of up to
 * {@link LOCAL_GROUP} per trip (read-metadata-many.ts) and decoded here.
 *
 * Why batches: the staged objects are published (Transaction.commit: syncfs, renames) every 10 to 30
 * seconds, so a pull killed at any moment keeps what it already proved, and the re-run fetches
 * only what is missing. A batch boundary waits for in-flight fetches, so no object is half in one
 * batch. Objects published without their commit are merely unreferenced (fsck-clean); the commit
 * itself is marked partial (state/C.commitpartial) until its whole tree is durable.
 */
import { getMaxListeners, setMaxListeners } from "node:events";
import type { Commit } from "../core/metadata.js";
import { decodeDirtree } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { hasNative, native } from "../io/native.js";
import { readMetadataMany } from "../repo/read-metadata-many.js";
import { fileDataStream, statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";
import { Transaction } from "../repo/transaction.js";
import { type Fetcher, PULL_CONCURRENCY } from "./fetcher.js";
import { fetchContentInto, fetchMetadata, verifyMetadata } from "./objects.js";
import type { PullStats } from "./progress.js";
import { fetchTrustedContentInto } from "./trusted-content.js";

/** Longest interval between two published batches (ms). */
const MAX_BATCH_MS = 30_000;

/** Dirtrees read locally per thread-pool trip. */
const LOCAL_GROUP = 64;

/** Groups of local dirtree reads (or native walks) in flight at once. */
const LOCAL_GROUPS_IN_FLIGHT = 2;

/** The 64-digit checksums in a Buffer of 32-byte ones. */
function hexChecksums(b: Buffer): string[] {
  const hex = b.toString("hex");
  const out: string[] = [];
  for (let i = 0; i < hex.length; i += 64) out.push(hex.slice(i, i + 64));
  return out;
}

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
  /** Fetches in flight (default {@link PULL_CONCURRENCY}). */
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
  /** Dirtrees the repository holds, for the native walker (walkTrees). */
  private readonly heldTrees: Array<{ cs: string; path: string }> = [];
  /** Dirtrees the repository holds, to be read and decoded here. */
  private readonly readTrees: Array<{ cs: string; path: string }> = [];
  private readonly seen = new Set<string>();
  private readonly scanned = new Set<string>();
  private readonly active = new Set<Promise<void>>();
  private lastFlush = Date.now();
  private batchInterval = 0;
  private error: unknown = null;
  private activeMeta = 0;
  /** Fetch tasks in flight (the local reads in `active` do not take their slots). */
  private fetching = 0;
  private localGroups = 0;
  /** Whether held dirtrees go to the native walker: it knows no paths, so not with subpaths. */
  private readonly walkNatively: boolean;

  private constructor(
    private readonly o: ObjectPullerOptions,
    tx: Transaction,
  ) {
    this.tx = tx;
    // each fetch in flight listens on the signal (a request, a retry's wait): more than the
    // 10 listeners Node warns about past, legitimately
    if (o.signal) {
      const want = 4 * (o.concurrency ?? PULL_CONCURRENCY) + 8;
      if (getMaxListeners(o.signal) < want) setMaxListeners(want, o.signal);
    }
    this.walkNatively = !o.subpaths?.length && hasNative() && native().walkTrees !== undefined;
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
    s.scanning =
      this.meta.length > 0 ||
      this.activeMeta > 0 ||
      this.heldTrees.length > 0 ||
      this.readTrees.length > 0 ||
      this.localGroups > 0;
    s.bytesTransferred = this.o.fetcher.bytesTransferred;
    s.contentBytesWritten = this.writtenBefore + this.tx.stats.contentBytesWritten;
    s.elapsedMs = Date.now() - s.startMs;
    this.o.onProgress?.(s);
  }

  private enqueue(t: Task): void {
    if (t.kind === "dirtree") {
      this.enqueueTree(t.cs, t.path);
      return;
    }
    const key = `${t.cs}.${t.kind}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (this.tx.has(t.kind, t.cs)) return;
    this.o.stats.requested++;
    (t.kind === "file" ? this.content : this.meta).push(t);
  }

  /** Count dirtree `cs` as requested the first time it is seen; false when it was seen before. */
  private firstSight(cs: string): boolean {
    const key = `${cs}.dirtree`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.o.stats.requested++;
    return true;
  }

  /**
   * Queue dirtree `cs` once: walked whether it is new or already here; one the repository lacks
   * is fetched, one it holds is read, by the native walker unless `decodeHere` (one that walker
   * found absent from objects/ yet held: staged, or in the parent repository).
   */
  private enqueueTree(cs: string, path: string, decodeHere = false): void {
    if (!this.firstSight(cs)) return;
    if (!this.tx.has("dirtree", cs)) this.meta.push({ kind: "dirtree", cs, path });
    else (this.walkNatively && !decodeHere ? this.heldTrees : this.readTrees).push({ cs, path });
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
    if (!this.o.subpaths?.length) {
      // everything is wanted: no paths to build
      for (const f of t.files) this.enqueue({ kind: "file", cs: f.checksum });
      for (const d of t.dirs) {
        this.enqueue({ kind: "dirmeta", cs: d.meta });
        this.enqueue({ kind: "dirtree", cs: d.tree, path });
      }
      return;
    }
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
    // a dirtree the repository lacks (those it holds are in heldTrees/readTrees)
    if (this.scanned.has(t.cs)) return;
    this.scanned.add(t.cs);
    let b = this.fromCacheMetadata("dirtree", t.cs);
    if (b) s.importedMetadata++;
    else {
      b = await fetchMetadata(this.o.fetcher, "dirtree", t.cs, this.o.signal);
      s.fetchedMetadata++;
    }
    await this.tx.writeMetadataAsync("dirtree", b, t.cs); // verified before it is walked
    this.scan(t.cs, t.path, b);
  }

  /** Read a group of dirtrees the repository holds and walk them; one found missing is fetched. */
  private async walkLocal(group: Array<{ cs: string; path: string }>): Promise<void> {
    const bytes = await readMetadataMany(
      this.o.repo,
      "dirtree",
      group.map((t) => t.cs),
    );
    for (let i = 0; i < group.length; i++) {
      const t = group[i]!;
      const b = bytes[i];
      if (!b) {
        // gone since it was looked up (or only staged by another puller): fetch it
        this.meta.push({ kind: "dirtree", ...t });
        continue;
      }
      if (this.scanned.has(t.cs)) continue;
      this.scanned.add(t.cs);
      this.scan(t.cs, t.path, b);
    }
  }

  private track(p: Promise<void>, done: () => void): void {
    const q: Promise<void> = p
      .catch((e) => {
        this.error ??= e;
      })
      .finally(() => {
        done();
        this.active.delete(q);
        this.note();
      });
    this.active.add(q);
  }

  private launch(t: Task): void {
    const isMeta = t.kind !== "file";
    if (isMeta) this.activeMeta++;
    this.fetching++;
    this.track(this.run(t), () => {
      if (isMeta) this.activeMeta--;
      this.fetching--;
    });
  }

  private launchLocal(): void {
    this.localGroups++;
    const walk = this.readTrees.length
      ? this.walkLocal(this.readTrees.splice(0, LOCAL_GROUP))
      : this.walkHeld(this.heldTrees.splice(0));
    this.track(walk, () => {
      this.localGroups--;
    });
  }

  /**
   * Walk dirtrees the repository holds with the native walker (without subpaths: paths are not
   * kept), then queue what it found missing below them.
   */
  private async walkHeld(roots: Array<{ cs: string; path: string }>): Promise<void> {
    const repo = this.o.repo;
    const r = await native().walkTrees!(
      `${repo.path}/objects`,
      roots.map((t) => t.cs),
      repo.archive ? "filez" : "file",
    );
    // (paths: "/" for every dirtree found here, as nothing reads them without subpaths)
    for (const cs of hexChecksums(r.walked)) {
      this.scanned.add(cs);
      this.firstSight(cs); // (the roots were seen already)
    }
    // what the walker saw absent is looked up again here (staged in this transaction, in the
    // parent repository, or a lookup that failed for another reason than absence)
    for (const cs of hexChecksums(r.missingFiles)) this.enqueue({ kind: "file", cs });
    for (const cs of hexChecksums(r.missingMetas)) this.enqueue({ kind: "dirmeta", cs });
    for (const cs of hexChecksums(r.missingTrees)) this.enqueueTree(cs, "/", true);
    // held but left to the JS decoder (which reads it or says what is wrong with it)
    for (const cs of hexChecksums(r.unread)) {
      this.firstSight(cs);
      this.readTrees.push({ cs, path: "/" });
    }
  }

  /**
   * Fetch everything queued, publishing in batches.
   * @throws the first fetch/verify error, after in-flight fetches have settled.
   */
  async drain(): Promise<void> {
    const max = this.o.concurrency ?? PULL_CONCURRENCY;
    if (this.batchInterval === 0) this.batchInterval = this.o.batchMs ?? 10_000;
    for (;;) {
      if (this.o.signal?.aborted) this.error ??= new ArborError("ABORTED", "Operation was cancelled");
      const due = Date.now() - this.lastFlush >= this.batchInterval;
      while (
        !this.error &&
        !due &&
        this.localGroups < LOCAL_GROUPS_IN_FLIGHT &&
        (this.readTrees.length || this.heldTrees.length)
      ) {
        this.launchLocal();
      }
      while (!this.error && !due && this.fetching < max && (this.meta.length || this.content.length)) {
        // metadata first: it discovers the rest of the tree
        this.launch((this.meta.length ? this.meta.shift() : this.content.shift())!);
      }
      if (this.active.size === 0) {
        if (this.error) throw this.error;
        if (!this.meta.length && !this.content.length && !this.readTrees.length && !this.heldTrees.length)
          break;
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
