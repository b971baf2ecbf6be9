/**
 * `pull-local`: copy commits, with their trees and detached metadata, from another repository on
 * this machine, in any combination of modes (archive ↔ bare ↔ bare-user ↔ bare-user-only).
 *
 * Trust: the library's default is untrusted. Every metadata object is decoded and re-hashed, every
 * content object is re-hashed as it is written (the Transaction compares the canonical stream's
 * SHA-256 with the object's name), and only then does anything become visible in the destination.
 * A corrupt object fails the pull, naming it, and nothing of that pull is kept.
 * `untrusted: false` (the CLI's default, as `ostree pull-local` without `--untrusted`) trusts the
 * local source as ostree does: objects are stored under their names without re-hashing, so a
 * corrupt source object is copied as is and `fsck` finds it. Structure is still checked: metadata
 * is decoded (names validated, nothing written outside its place) and sizes must match. HTTP pulls
 * never take this path: src/pull/ verifies every object, except that `pull --mirror --http-trusted`
 * into an archive repository stores content objects as fetched (src/pull/trusted-content.ts).
 *
 * Speed: metadata is small and read synchronously. Content objects are copied with several in
 * flight (compression, hashing and I/O overlap on libuv's thread pool), files over the streaming
 * threshold are streamed. When both repositories store objects in the same format on the same
 * filesystem and are owned by the same user (bare-user into bare-user-only included, see
 * linkPolicy in pull-local-source.ts), a content object is *hard-linked* instead of copied (as
 * ostree does): after its data was verified, unless the caller passed `untrusted: false`. The link
 * is checked to be the inode we verified (same inode, size, mtime), so a file swapped in meanwhile
 * is refused.
 *
 * Partial commits: while a commit's tree is being copied it is marked `state/C.commitpartial`; the
 * marker goes once the transaction (objects, then refs) is durable. `commitMetadataOnly` copies the
 * commit alone and leaves the marker, as ostree does.
 */
import { lstatSync, mkdirSync, type Stats, unlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { checksumMismatch, sha256Hex } from "../core/checksum.js";
import { contentHasher } from "../core/content-header.js";
import { type Commit, decodeCommit, decodeDirmeta, decodeDirtree, decodeVarDict } from "../core/metadata.js";
import { isReg } from "../core/mode.js";
import type { ObjectType } from "../core/object-type.js";
import { isChecksum, validateRef, validateRemoteName } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { hasNative, native } from "../io/native.js";
import { ByteBudget, Pool } from "../io/pool.js";
import { verifyBindings } from "./fsck-bindings.js";
import {
  copySummary,
  linkableContent,
  linkPolicy,
  readData,
  type SourceObject,
  sameFile,
} from "./pull-local-source.js";
import { verifyCommitGpg, verifySummaryGpg } from "./pull-local-verify.js";
import { archiveObjectFromBytes, type FileObject, fileDataStream, statFileObject } from "./read-object.js";
import { listRefs, readRef } from "./refs.js";
import type { Repo } from "./repo.js";
import { STREAM_THRESHOLD, Transaction } from "./transaction.js";

/** Options for {@link pullLocal}. */
export interface PullLocalOptions {
  /** Refs (local branches of the source) or commit checksums; default: every branch of the source. */
  refs?: string[];
  /** Write refs as `refs/remotes/REMOTE/REF` (`--remote`); default `refs/heads/REF`. */
  remote?: string;
  /** Write refs under `refs/heads` even with `remote`, and copy the source's summary when pulling all refs. */
  mirror?: boolean;
  /** Parent commits to copy too: 0 (default) none, -1 all. A parent missing in the source ends the history. */
  depth?: number;
  /**
   * Re-hash every object copied or linked (default true). False trusts the source as ostree does
   * without `--untrusted`: objects are stored under their names unhashed (still decoded, sizes checked).
   */
  untrusted?: boolean;
  /** Copy only the commit objects (and detached metadata); they stay marked partial. */
  commitMetadataOnly?: boolean;
  /** Refuse regular files with mode bits outside 0775 (setuid, world-writable…), `--bareuseronly-files`. */
  bareUserOnlyFiles?: boolean;
  /** Skip the check that a commit pulled by ref is bound to that ref (`ostree.ref-binding`). */
  disableVerifyBindings?: boolean;
  /** Do not fsync (faster; not crash-safe). */
  disableFsync?: boolean;
  /** Require a valid GPG signature on each commit, by the keyring of remote `remote` (required). */
  gpgVerify?: boolean;
  /** Require a valid GPG signature on the source's summary, by the keyring of remote `remote`. */
  gpgVerifySummary?: boolean;
  /**
   * Content objects in flight (default 32; their data held in memory is also bounded, to
   * {@link DATA_IN_FLIGHT} bytes).
   */
  concurrency?: number;
  onProgress?: (p: PullLocalProgress) => void;
  signal?: AbortSignal;
}

/** Progress of {@link pullLocal}. */
export interface PullLocalProgress {
  phase: "metadata" | "content";
  metadataScanned: number;
  contentTotal: number;
  contentDone: number;
  bytesWritten: number;
}

/** What {@link pullLocal} did. Counts are of objects new to the destination. */
export interface PullLocalResult {
  /** Each requested ref (null for a checksum) and the commit it pulled. */
  pulled: Array<{ ref: string | null; commit: string }>;
  metadataImported: number;
  contentImported: number;
  /** Of `contentImported`, how many were hard-linked rather than copied. */
  contentLinked: number;
  /** Uncompressed bytes of content written (linked objects write none). */
  contentBytesWritten: number;
}

interface Target {
  ref: string | null;
  commit: string;
}

/**
 * Resolve what to pull from the source. Without refs: every branch, and (as ostree, which lists the
 * source's remote refs too and cannot pull them) an error if the source has any remote ref.
 */
function resolveTargets(src: Repo, refs: string[] | undefined): Target[] {
  if (!refs || refs.length === 0) {
    const remoteRef = listRefs(src, { kind: "remotes" })[0];
    if (remoteRef) throw new ArborError("BAD_REF", `Invalid ref name ${remoteRef.remote}:${remoteRef.ref}`);
    return listRefs(src, { kind: "heads" }).map((r) => ({ ref: r.ref, commit: r.checksum }));
  }
  return refs.map((r) => {
    if (isChecksum(r)) return { ref: null, commit: r };
    validateRef(r);
    const cs = readRef(src, r);
    if (cs === null) throw new ArborError("NOT_FOUND", `Refspec '${r}' not found in "${src.path}"`);
    return { ref: r, commit: cs };
  });
}

/** Object data read into memory and not yet written, at most (with many small objects in flight). */
const DATA_IN_FLIGHT = 32 * 1024 * 1024;
/**
 * Source objects read ahead in one thread-pool trip (archive sources), and the largest file read
 * so (bigger ones are read as they are copied): at most two groups are held, 16 MiB, besides
 * {@link DATA_IN_FLIGHT}.
 */
const READ_BATCH = 32;
const WHOLE_FILE = 256 * 1024;
/** What a streamed copy (objects of STREAM_THRESHOLD and more) holds at once: fileDataStream's chunk. */
const STREAM_CHUNK = 1024 * 1024;

/**
 * The bytes a copy of a content object of `size` data bytes holds in memory at once: all of it
 * when it is copied whole (under STREAM_THRESHOLD), one stream chunk when it is streamed.
 */
export function bytesHeldByCopy(size: number): number {
  return size < STREAM_THRESHOLD ? size : STREAM_CHUNK;
}

/** One pull: the walk over commits and trees, and the content copies. */
class LocalPuller {
  readonly pool: Pool;
  /** Object data held in memory by the copies in flight. */
  private readonly dataBudget = new ByteBudget(DATA_IN_FLIGHT);
  private readonly seenTrees = new Set<string>();
  private readonly seenMeta = new Set<string>();
  private readonly seenContent = new Set<string>();
  private readonly scannedCommits = new Set<string>();
  /** Markers this pull created (removed again on failure). */
  readonly createdMarkers: string[] = [];
  /** Commits whose tree this pull completed (their markers go after the commit). */
  readonly completed: string[] = [];
  /** Content objects to copy, in discovery order. */
  readonly queue: string[] = [];
  metadataImported = 0;
  contentLinked = 0;
  private contentTotal = 0;
  private contentDone = 0;
  private canLink: boolean;
  private linkMetadata: boolean;
  /** Re-hash what is copied (`untrusted`, the library default); false trusts the source as ostree. */
  private readonly verify: boolean;

  constructor(
    private readonly src: Repo,
    private readonly dst: Repo,
    private readonly tx: Transaction,
    private readonly opts: PullLocalOptions,
  ) {
    this.pool = new Pool(opts.concurrency ?? 32, opts.signal);
    const policy = linkPolicy(src, dst);
    this.canLink = policy.content;
    this.linkMetadata = policy.metadata;
    this.verify = opts.untrusted !== false;
  }

  private progress(phase: "metadata" | "content"): void {
    this.opts.onProgress?.({
      phase,
      metadataScanned: this.seenTrees.size + this.scannedCommits.size,
      contentTotal: this.contentTotal,
      contentDone: this.contentDone,
      bytesWritten: this.tx.stats.contentBytesWritten,
    });
  }

  /** Copy (verifying) a metadata object unless the destination has it; returns it decoded if read. */
  private metadata<T>(type: ObjectType, cs: string, decode: (b: Uint8Array) => T): T | null {
    if (this.tx.has(type, cs)) return null;
    const source = this.readSource(type, cs);
    if (source === null) {
      throw new ArborError("OBJECT_NOT_FOUND", `Object ${cs}.${type} is missing in "${this.src.path}"`, {
        data: { checksum: cs, type },
      });
    }
    const value = decode(source.bytes);
    this.store(type, cs, source);
    return value;
  }

  /** A source metadata object's bytes and the file they came from (null if absent). */
  private readSource(type: ObjectType, cs: string): SourceObject | null {
    let before: Stats;
    try {
      before = lstatSync(this.src.objectPath(cs, type));
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return null;
      throw fromSystemError(`Cannot read object ${cs}.${type} of "${this.src.path}"`, e);
    }
    const bytes = this.src.readMetadataMaybe(type, cs);
    return bytes === null ? null : { bytes, before };
  }

  /**
   * Store source metadata after checking its checksum: hard-linked to the source's file when the
   * filesystem allows (metadata is stored alike in every mode, so ostree links it too), else copied.
   */
  private store(type: ObjectType, cs: string, o: SourceObject): void {
    if (this.verify) {
      const actual = sha256Hex(o.bytes);
      if (actual !== cs) throw checksumMismatch(type, cs, actual);
    }
    const path = this.src.objectPath(cs, type);
    if (
      this.linkMetadata &&
      this.tx.linkObject(type, cs, path, (p) => sameFile(o.before, p, `${cs}.${type}`))
    ) {
      this.metadataImported++;
      return;
    }
    this.linkMetadata = false;
    if (this.verify) this.tx.writeMetadata(type, o.bytes, cs);
    else this.tx.writeMetadataNamed(type, cs, o.bytes);
    this.metadataImported++;
  }

  /** Walk one requested commit and its history up to the depth. */
  async pullCommit(t: Target): Promise<void> {
    const depth = this.opts.depth ?? 0;
    let cs: string | null = t.commit;
    for (let level = 0; cs !== null; level++) {
      const inDst = this.dst.hasObject("commit", cs);
      const source = inDst ? null : this.readSource("commit", cs);
      let bytes = inDst ? this.dst.readMetadata("commit", cs) : (source?.bytes ?? null);
      if (bytes === null) {
        if (level > 0) break; // history beyond this point is not in the source
        throw new ArborError("OBJECT_NOT_FOUND", `Commit ${cs} is missing in "${this.src.path}"`, {
          data: { checksum: cs, type: "commit" },
        });
      }
      const commit: Commit = decodeCommit(bytes, `commit ${cs}`);
      if (source !== null && !this.tx.has("commit", cs)) this.store("commit", cs, source);
      if (this.opts.gpgVerify) {
        await verifyCommitGpg(this.dst, this.opts.remote!, cs, bytes, this.src.loadCommitMeta(cs));
      }
      bytes = null;
      if (level === 0 && t.ref !== null && !this.opts.disableVerifyBindings) {
        // as ostree: a local source's own collection ID is the one its commits must be bound to
        const why = verifyBindings(this.src.collectionId ?? null, t.ref, commit);
        if (why !== null) throw new ArborError("SIGNATURE_INVALID", `Commit ${cs}: ${why}`);
      }
      this.commitMeta(cs);
      const partial = this.dst.isCommitPartial(cs);
      if ((!inDst || partial) && !this.scannedCommits.has(cs)) {
        this.scannedCommits.add(cs);
        if (!partial) this.markPartial(cs);
        if (!this.opts.commitMetadataOnly) {
          this.scanTree(commit.rootTree, commit.rootMeta);
          this.completed.push(cs);
        }
      }
      cs = depth < 0 || level < depth ? commit.parent : null;
    }
  }

  /** Copy detached metadata when the source has some the destination lacks or differs from. */
  private commitMeta(cs: string): void {
    const bytes = this.src.readMetadataMaybe("commitmeta", cs);
    if (bytes === null) return;
    const mine = this.dst.readMetadataMaybe("commitmeta", cs);
    if (mine !== null && Buffer.compare(mine, bytes) === 0) return;
    decodeVarDict(bytes, `detached metadata of ${cs}`);
    this.tx.writeMetadataNamed("commitmeta", cs, bytes, true);
  }

  private markPartial(cs: string): void {
    const p = this.dst.commitPartialPath(cs);
    mkdirSync(join(this.dst.path, "state"), { recursive: true });
    writeFileAtomicSync(p, "", { mode: 0o644, fsync: !this.opts.disableFsync });
    this.createdMarkers.push(cs);
  }

  /** Walk a tree (iteratively: hostile nesting cannot overflow the stack), queueing content. */
  private scanTree(rootTree: string, rootMeta: string): void {
    const stack: Array<[string, string]> = [[rootTree, rootMeta]];
    while (stack.length) {
      const [tree, meta] = stack.pop()!;
      if (!this.seenMeta.has(meta)) {
        this.seenMeta.add(meta);
        this.metadata("dirmeta", meta, (b) => decodeDirmeta(b, `dirmeta ${meta}`));
      }
      if (this.seenTrees.has(tree)) continue;
      this.seenTrees.add(tree);
      const dt =
        this.metadata("dirtree", tree, (b) => decodeDirtree(b, `dirtree ${tree}`)) ??
        this.dst.loadDirtree(tree);
      for (const f of dt.files) {
        if (this.seenContent.has(f.checksum)) continue;
        this.seenContent.add(f.checksum);
        if (!this.tx.has("file", f.checksum)) this.queue.push(f.checksum);
      }
      for (const d of dt.dirs) stack.push([d.tree, d.meta]);
      if (this.seenTrees.size % 256 === 0) this.progress("metadata");
    }
  }

  /** Copy every queued content object, several in flight. */
  async copyContent(): Promise<void> {
    this.contentTotal = this.queue.length;
    const reader = this.batchReader();
    // a read whose group is never reached (a copy failed first) must not go unhandled
    const read = reader
      ? (group: string[]) => {
          const p = reader(group);
          p.catch(() => {});
          return p;
        }
      : null;
    let next = read ? read(this.queue.slice(0, READ_BATCH)) : null;
    for (let i = 0; i < this.queue.length; i += READ_BATCH) {
      const group = this.queue.slice(i, i + READ_BATCH);
      // the next group's files are read while this one is copied
      const files = next ? await next : null;
      next =
        read && i + READ_BATCH < this.queue.length
          ? read(this.queue.slice(i + READ_BATCH, i + 2 * READ_BATCH))
          : null;
      for (let k = 0; k < group.length; k++) {
        const cs = group[k]!;
        const file = files?.[k];
        await this.pool.run(async () => {
          await this.copyOne(cs, file);
          this.contentDone++;
          this.progress("content");
        });
      }
    }
    await this.pool.drain();
  }

  /**
   * For an archive source with the addon: a function reading a group of source objects in one
   * thread-pool trip (each whole when it is at most {@link WHOLE_FILE} bytes; `readFiles`), so the
   * main thread makes no open/fstat/read/close per object (~55 µs each on the reference machine).
   */
  private batchReader(): ((group: string[]) => Promise<Array<Buffer | number | Error>>) | null {
    if (this.src.mode !== "archive" || !hasNative() || !native().readFiles) return null;
    // objects hard-linked unverified (archive into archive) are never read: nothing to read ahead
    if (this.canLink && !this.verify) return null;
    const readFiles = native().readFiles!.bind(native());
    return (group) =>
      readFiles(
        group.map((cs) => this.src.objectPath(cs, "file")),
        WHOLE_FILE,
      );
  }

  /**
   * Copy one content object (`file`: its source file as read ahead by {@link batchReader}; a
   * number or an error there means it is looked up here as usual).
   */
  private async copyOne(cs: string, file?: Buffer | number | Error): Promise<void> {
    try {
      const obj =
        file instanceof Buffer
          ? archiveObjectFromBytes(this.src.objectPath(cs, "file"), cs, file)
          : statFileObject(this.src, cs);
      if (this.opts.bareUserOnlyFiles && isReg(obj.header.mode)) {
        const bad = obj.header.mode & 0o7777 & ~0o775;
        if (bad !== 0) {
          throw new ArborError(
            "UNSUPPORTED",
            `Content object ${cs}: invalid mode 0${obj.header.mode.toString(8)} with bits 0${bad.toString(8)}`,
          );
        }
      }
      if (this.canLink && linkableContent(this.src, this.dst, obj) && (await this.link(obj))) return;
      const trusted = !this.verify;
      const held = bytesHeldByCopy(obj.size);
      await this.dataBudget.take(held);
      try {
        if (obj.compressed && isReg(obj.header.mode) && obj.size < STREAM_THRESHOLD) {
          // inflated (and hashed, unless trusted) where it is written, off the main thread
          const raw = obj.raw ?? (await readFile(obj.path));
          await this.tx.writeDeflatedContent(obj.header, raw.subarray(obj.dataOffset), obj.size, cs, trusted);
        } else if (obj.size < STREAM_THRESHOLD)
          await this.tx.writeContent(obj.header, await readData(obj), cs, trusted);
        else await this.tx.writeContentStream(obj.header, obj.size, fileDataStream(obj), cs, trusted);
      } finally {
        this.dataBudget.give(held);
      }
    } catch (e) {
      throw withContext(`Cannot pull content object ${cs} from "${this.src.path}"`, e);
    }
  }

  /** Hard-link a verified object; false if the filesystem will not (the caller copies). */
  private async link(obj: FileObject): Promise<boolean> {
    const before = lstatSync(obj.path);
    if (this.verify) {
      const h = contentHasher(obj.header);
      if (obj.size < STREAM_THRESHOLD) h.update(await readData(obj));
      else for await (const chunk of fileDataStream(obj)) h.update(chunk);
      const actual = h.digest("hex");
      if (actual !== obj.checksum) throw checksumMismatch("file", obj.checksum, actual);
    }
    const ok = this.tx.linkObject("file", obj.checksum, obj.path, (p) =>
      sameFile(before, p, `content object ${obj.checksum}`),
    );
    if (!ok) this.canLink = false;
    else this.contentLinked++;
    return ok;
  }
}

function removeMarker(dst: Repo, cs: string): void {
  try {
    unlinkSync(dst.commitPartialPath(cs));
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw fromSystemError(`Cannot unmark partial commit ${cs}`, e);
  }
}

/**
 * Copy refs (or commits) and everything they need from `src` into `dst`, as `ostree pull-local`.
 * @example
 * const r = await pullLocal(Repo.open("/srv/repo"), Repo.open("repo"), { refs: ["os/x86_64/stable"] });
 * // r.pulled[0].commit, r.contentImported
 * @throws ArborError NOT_FOUND (ref), BAD_REF (bad name), SIGNATURE_INVALID (a commit not bound to
 *   the ref pulled, a bad GPG signature), SIGNATURE_MISSING (`gpgVerify*` without signatures),
 *   OBJECT_NOT_FOUND / OBJECT_CORRUPT (naming the object; nothing is kept), UNSUPPORTED
 *   (`bareUserOnlyFiles`, or content a bare-user-only repo cannot hold), LOCKED, NO_SPACE, IO, ABORTED.
 */
export async function pullLocal(src: Repo, dst: Repo, opts: PullLocalOptions = {}): Promise<PullLocalResult> {
  if (opts.remote !== undefined) validateRemoteName(opts.remote);
  if ((opts.gpgVerify || opts.gpgVerifySummary) && opts.remote === undefined) {
    throw new ArborError("USAGE", "Must specify remote name to enable gpg verification");
  }
  if (opts.gpgVerifySummary) await verifySummaryGpg(src, dst, opts.remote!);
  const targets = resolveTargets(src, opts.refs);
  const savedFsync = dst.config.get("core", "fsync");
  if (opts.disableFsync) dst.config.setBool("core", "fsync", false);
  const tx = await Transaction.begin(dst, { signal: opts.signal });
  const puller = new LocalPuller(src, dst, tx, opts);
  try {
    for (const t of targets) {
      opts.signal?.throwIfAborted();
      await puller.pullCommit(t);
    }
    await puller.copyContent();
    const remote = opts.mirror ? null : (opts.remote ?? null);
    for (const t of targets) if (t.ref !== null) tx.setRef(t.ref, t.commit, remote);
    await tx.commit();
  } catch (e) {
    await tx.abort();
    for (const cs of puller.createdMarkers) if (!dst.hasObject("commit", cs)) removeMarker(dst, cs);
    throw e;
  } finally {
    if (opts.disableFsync) {
      if (savedFsync === undefined) dst.config.unset("core", "fsync");
      else dst.config.set("core", "fsync", savedFsync);
    }
  }
  for (const cs of puller.completed) removeMarker(dst, cs);
  if (opts.mirror && !opts.refs?.length) copySummary(src, dst);
  return {
    pulled: targets.map((t) => ({ ref: t.ref, commit: t.commit })),
    metadataImported: puller.metadataImported,
    contentImported: tx.stats.contentWritten,
    contentLinked: puller.contentLinked,
    contentBytesWritten: tx.stats.contentBytesWritten,
  };
}
