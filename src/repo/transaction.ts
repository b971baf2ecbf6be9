/**
 * A repository write transaction. Objects are written under their final names into one flat
 * staging directory of the repo's `tmp/` (claimed per transaction, staging.ts) while a shared repo
 * lock is held; {@link Transaction.commit} makes them durable, renames them into `objects/` in
 * groups — content and dirtree/dirmeta first, then commitmeta, then commits, each group durable
 * before the next (publish-staged.ts) — and only then writes the refs, so a crash at any point
 * leaves no ref to a commit whose objects are missing. {@link Transaction.abort} (or a failure)
 * removes the staging dir and moves no ref.
 *
 * Writes in memory go off the main thread through the native addon's batched writer
 * (stage-content.ts, io/object-write-batch.ts): content objects, and metadata through
 * {@link Transaction.writeMetadataAsync} (pulls); {@link Transaction.writeMetadata} is synchronous
 * for its synchronous callers. Large objects stream through a temp file whose writes also run on
 * the thread pool.
 */
import { chmodSync, closeSync, fchmodSync, linkSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { deflateRaw as deflateRawCb } from "node:zlib";
import { checksumMismatch, sha256Hex } from "../core/checksum.js";
import { contentHasher, encodeArchiveHeader, type FileHeader } from "../core/content-header.js";
import { isLnk, isReg } from "../core/mode.js";
import { objectRelPath } from "../core/object-path.js";
import type { ObjectType } from "../core/object-type.js";
import { isChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { faultPoint } from "../io/fs.js";
import { acquireLock, type LockHandle } from "../io/lock.js";
import { createFileOffThread, writeAllOffThread } from "../io/off-thread.js";
import { prefixFor } from "./content-fast.js";
import { deflateToWriter } from "./deflate-parallel.js";
import { ObjectPresence } from "./object-presence.js";
import { publishStaged, type Staged, syncStaged } from "./publish-staged.js";
import { writeRefFile } from "./refs.js";
import type { Repo } from "./repo.js";
import {
  bareUserSymlinkBody,
  hasNativeWriter,
  inflateBody,
  nativeUnpacksChunks,
  setBareMetadata,
  unpackError,
  writeAll,
  writeArchiveObjectNative,
  writeBareContentSync,
  writeBareFileNative,
  writePlainObjectFile,
} from "./stage-content.js";
import { claimStagingDir } from "./staging.js";
import { maybeAutoUpdateSummary } from "./summary.js";

const deflateRaw = promisify(deflateRawCb);

/** Files at or above this size are streamed rather than held in memory. */
export const STREAM_THRESHOLD = 8 * 1024 * 1024;

export interface TransactionStats {
  /** Metadata objects passed to the transaction, new or already stored (ostree's "Metadata Total"). */
  metadataTotal: number;
  /** Content objects passed to the transaction, new or already stored ("Content Total"). */
  contentTotal: number;
  metadataWritten: number;
  contentWritten: number;
  contentBytesWritten: number;
}

export class Transaction {
  readonly repo: Repo;
  readonly stagingDir: string;
  readonly stats: TransactionStats = {
    metadataTotal: 0,
    contentTotal: 0,
    metadataWritten: 0,
    contentWritten: 0,
    contentBytesWritten: 0,
  };
  private staged = new Map<string, Staged>();
  /** Files written outside the staging dir that must be durable before any object is published. */
  private readonly durableFirst: string[] = [];
  /** Objects {@link has} found absent from the repository (relative paths, as `staged`). */
  private readonly knownAbsent = new Set<string>();
  /** Loose objects of the repository, looked up one by one or from directory listings. */
  private readonly presence: ObjectPresence;
  private refUpdates: Array<{ ref: string; remote: string | null; checksum: string | null }> = [];
  private lock: LockHandle | null;
  private done = false;
  private tmpCounter = 0;
  /** Async writes in flight, and who waits for there to be none ({@link abort}). */
  private writing = 0;
  private readonly whenIdle: Array<() => void> = [];

  private stagingLock: LockHandle | null;

  private constructor(repo: Repo, lock: LockHandle | null, staging: { dir: string; lock: LockHandle }) {
    this.repo = repo;
    this.lock = lock;
    this.stagingDir = staging.dir;
    this.stagingLock = staging.lock;
    this.presence = new ObjectPresence(repo.path);
  }

  /**
   * Remove the staging dir, then give up its claim and the repo lock (in that order). A staging
   * dir that cannot be removed is left, unclaimed, for the next transaction to empty and reuse
   * (staging.ts): the locks are released whatever happens.
   */
  private releaseAll(): void {
    try {
      rmSync(this.stagingDir, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // nothing published depends on it; see above
    }
    this.stagingLock?.release();
    this.stagingLock = null;
    this.lock?.release();
    this.lock = null;
  }

  /**
   * Start a transaction: takes the repo lock (shared) and creates the staging dir.
   * @throws ArborError LOCKED if another process holds the repo exclusively past the timeout.
   */
  static async begin(
    repo: Repo,
    opts: { onWait?: (msg: string) => void; signal?: AbortSignal } = {},
  ): Promise<Transaction> {
    const timeoutSecs = Number(repo.config.get("core", "lock-timeout-secs") ?? "300");
    const locking = repo.config.getBool("core", "locking", true);
    const lock = locking
      ? await acquireLock(repo.lockPath, "shared", {
          timeoutMs: timeoutSecs * 1000,
          onWait: opts.onWait,
          signal: opts.signal,
        })
      : null;
    try {
      return new Transaction(repo, lock, await claimStagingDir(repo));
    } catch (e) {
      lock?.release();
      throw e;
    }
  }

  /**
   * True if the object is already in the repo or staged in this transaction. An object found
   * absent is remembered as such, so the write that usually follows (a pull checks, fetches, then
   * writes) does not look on disk again: a pull checked each content object three times (~25 µs of
   * access(2) each on the reference machine, 6k objects per Debian minbase pull). Should another
   * process store the object meanwhile, this one is written and published again: the same bytes,
   * renamed over the same name.
   */
  has(type: ObjectType, checksum: string): boolean {
    const rel = objectRelPath(checksum, type, this.repo.archive);
    if (this.staged.has(rel)) return true;
    if (this.knownAbsent.has(rel)) return false;
    const present =
      this.presence.has(rel, () => this.repo.hasLooseObject(type, checksum)) ||
      (this.repo.parent?.hasObject(type, checksum) ?? false);
    if (!present) this.knownAbsent.add(rel);
    return present;
  }

  /** Whether the repository itself stores the object (loose), unless {@link has} found it absent. */
  private storedHere(type: ObjectType, checksum: string, rel: string): boolean {
    return (
      !this.knownAbsent.has(rel) && this.presence.has(rel, () => this.repo.hasLooseObject(type, checksum))
    );
  }

  /**
   * Where an object's file is now: its staged file if this transaction wrote it, else the
   * repository's loose object path (which may not exist).
   */
  objectFile(type: ObjectType, checksum: string): string {
    const rel = objectRelPath(checksum, type, this.repo.archive);
    if (this.staged.has(rel)) return this.stagePath(rel);
    return this.repo.objectPath(checksum, type);
  }

  /**
   * Where a staged object lives: one flat directory, `objects/XX/REST.EXT` -> `staging/XXREST.EXT`.
   * Flat on purpose: ext4 allocates a new file's inode in its parent directory's block group, and
   * 256 fresh `XX/` subdirectories per transaction spread thousands of new inodes over many groups,
   * where (on a filesystem without a journal) each allocation scans past every inode freed in the
   * last minutes: ~10x the CPU of creating them all in one directory (measured, 6k files). ostree
   * likewise creates its objects in one directory (tmp/, O_TMPFILE) and links them into place.
   * In-memory content objects are made the same way (stage-content.ts, `writeObjectFile`): unnamed
   * until complete, so parallel writers hold the directory's lock only for the link, not while
   * ext4 allocates their inodes (with names, 4 writers spun on that lock: sys time 3.8 s against
   * 3.0 s for a minbase commit).
   */
  private stagePath(rel: string): string {
    return join(this.stagingDir, rel.slice(8, 10) + rel.slice(11));
  }

  private ensureOpen(): void {
    if (this.done) throw new ArborError("USAGE", "Transaction already committed or aborted");
  }

  /** Enter an async write (the transaction must be open); call the returned function on leaving. */
  private enterWrite(): () => void {
    this.ensureOpen();
    this.writing++;
    return () => {
      if (--this.writing === 0) for (const wake of this.whenIdle.splice(0)) wake();
    };
  }

  /**
   * Store a metadata object; returns its checksum. With `expected`, the bytes must hash to it.
   * @throws ArborError OBJECT_CORRUPT if `expected` does not match.
   */
  writeMetadata(type: ObjectType, bytes: Uint8Array, expected?: string): string {
    this.ensureOpen();
    const checksum = sha256Hex(bytes);
    if (expected !== undefined && expected !== checksum) throw checksumMismatch(type, expected, checksum);
    return this.writeMetadataNamed(type, checksum, bytes);
  }

  /**
   * {@link writeMetadata} with the file written off the main thread, batched with other writes
   * (io/object-write-batch.ts): a pull stores hundreds of dirtrees and dirmetas while content is
   * being written, and a named create on the main thread cost ~0.25 ms each there.
   * @throws ArborError OBJECT_CORRUPT (not `expected`), NO_SPACE, IO
   */
  async writeMetadataAsync(type: ObjectType, bytes: Uint8Array, expected: string): Promise<string> {
    const leave = this.enterWrite();
    try {
      const checksum = sha256Hex(bytes);
      if (expected !== checksum) throw checksumMismatch(type, expected, checksum);
      const rel = objectRelPath(checksum, type, this.repo.archive);
      this.stats.metadataTotal++;
      const wrote = await this.stageNew(type, checksum, rel, (p) => writePlainObjectFile(p, bytes));
      if (wrote) this.stats.metadataWritten++;
      return checksum;
    } finally {
      leave();
    }
  }

  /**
   * Stage object `rel` (of `type`, named `checksum`) with `write(stagingPath)` unless it is staged
   * or stored already. Reserved before the first await, so concurrent writers of one object write
   * it once; the reservation is dropped when the write fails. Call inside {@link enterWrite}.
   * @returns false when there was nothing to write.
   * @throws `known(e)` when it gives an error for the failure, else ArborError NO_SPACE/IO naming
   *   the object.
   */
  private async stageNew(
    type: ObjectType,
    checksum: string,
    rel: string,
    write: (p: string) => Promise<void>,
    known: (e: unknown) => ArborError | null = () => null,
  ): Promise<boolean> {
    if (this.staged.has(rel) || this.storedHere(type, checksum, rel)) return false;
    this.staged.set(rel, { type, rel });
    try {
      faultPoint("write-object");
      await write(this.stagePath(rel));
    } catch (e) {
      this.staged.delete(rel);
      const what = type === "file" ? "content" : type;
      throw known(e) ?? fromSystemError(`Cannot write ${what} object ${checksum}`, e);
    }
    return true;
  }

  /** Store a metadata object under a given name without hashing (commitmeta, tombstones). */
  writeMetadataNamed(type: ObjectType, checksum: string, bytes: Uint8Array, replace = false): string {
    this.ensureOpen();
    const rel = objectRelPath(checksum, type, this.repo.archive);
    this.stats.metadataTotal++;
    if (!replace && (this.staged.has(rel) || this.storedHere(type, checksum, rel))) return checksum;
    const p = this.stagePath(rel);
    faultPoint("write-object");
    writeWhole(p, bytes, 0o644);
    this.staged.set(rel, { type, rel });
    this.stats.metadataWritten++;
    return checksum;
  }

  /**
   * Store a content object whose data is in memory. With `expected`, the canonical stream must
   * hash to it (pull, pull-local); otherwise the computed checksum is returned. `trusted` stores the
   * data under `expected` without hashing it (only `pull-local` from a trusted local source, as ostree).
   * @throws ArborError OBJECT_CORRUPT on mismatch, NO_SPACE, IO
   */
  async writeContent(
    header: FileHeader,
    data: Uint8Array,
    expected?: string,
    trusted = false,
  ): Promise<string> {
    const leave = this.enterWrite();
    try {
      const checksum =
        trusted && expected !== undefined ? expected : contentHasher(header).update(data).digest("hex");
      if (expected !== undefined && expected !== checksum) throw checksumMismatch("file", expected, checksum);
      const rel = objectRelPath(checksum, "file", this.repo.archive);
      this.stats.contentTotal++;
      const wrote = await this.stageNew("file", checksum, rel, async (p) => {
        if (!this.repo.archive) return this.writeBareContentAsync(p, header, data);
        const hdr = encodeArchiveHeader(header, isLnk(header.mode) ? 0 : data.length);
        // compressed where it is written, in the addon's pool trip, when it can be
        const packed = isLnk(header.mode) ? null : writeArchiveObjectNative(p, hdr, data);
        if (packed) return packed;
        const body = isLnk(header.mode) ? new Uint8Array(0) : await deflateRaw(data, { level: 6 });
        await writePlainObjectFile(p, concat(hdr, body));
      });
      if (wrote) {
        this.stats.contentWritten++;
        this.stats.contentBytesWritten += data.length;
      }
      return checksum;
    } finally {
      leave();
    }
  }

  /**
   * Store a regular-file content object received as its raw-deflate body (a pulled `.filez`'s
   * data) that must inflate to `size` bytes whose canonical stream hashes to
   * `expected`. In a bare-mode repository with the addon, the body is inflated, hashed and written
   * in one trip to the thread pool (stage-content.ts, `unpack`): inflating and hashing the 5k
   * objects of a Debian minbase pull cost the main thread ~0.6 s. Otherwise (archive repositories,
   * no addon, objects of STREAM_THRESHOLD and more) it is inflated here and stored by
   * {@link writeContent}. `body` may be the chunks it came in: the addon reads them in order,
   * with no copy into one buffer (on the reference VM, the fresh pages such copies touch cost a
   * pull's main thread more than the copying). `trusted`: as {@link writeContent} (the data is
   * not hashed).
   * @throws ArborError OBJECT_CORRUPT (cannot decompress, not `size` bytes, checksum mismatch),
   *   NO_SPACE, IO
   */
  async writeDeflatedContent(
    header: FileHeader,
    body: Uint8Array | readonly Uint8Array[],
    size: number,
    expected: string,
    trusted = false,
  ): Promise<void> {
    if (!isReg(header.mode)) throw new ArborError("USAGE", "Only regular files have a deflated body");
    const native = !this.repo.archive && hasNativeWriter() && size <= STREAM_THRESHOLD;
    // the body's chunks go to the addon as they are; anything else reads it in one piece
    const deflated =
      !Array.isArray(body) || (native && nativeUnpacksChunks())
        ? body
        : Buffer.concat(body as readonly Uint8Array[]);
    if (!native) {
      await this.writeContent(header, inflateBody(deflated as Uint8Array, size, expected), expected, trusted);
      return;
    }
    const leave = this.enterWrite();
    try {
      const rel = objectRelPath(expected, "file", false);
      this.stats.contentTotal++;
      const unpack = trusted
        ? ([size, null, null] as const)
        : ([size, prefixFor(header), Buffer.from(expected, "hex")] as const);
      const wrote = await this.stageNew(
        "file",
        expected,
        rel,
        (p) => writeBareFileNative(this.repo.mode, p, header, deflated, unpack)!,
        (e) => unpackError(e, expected),
      );
      if (wrote) {
        this.stats.contentWritten++;
        this.stats.contentBytesWritten += size;
      }
    } finally {
      leave();
    }
  }

  /**
   * Store a content object from a stream of `size` bytes (large files). Data is hashed (and
   * compressed for archive repos) as it is written to a temp file, which is then renamed to its
   * checksum inside the staging dir. `trusted`: as {@link writeContent}.
   */
  async writeContentStream(
    header: FileHeader,
    size: number,
    data: AsyncIterable<Uint8Array>,
    expected?: string,
    trusted = false,
  ): Promise<string> {
    const leave = this.enterWrite();
    try {
      if (!isReg(header.mode)) throw new ArborError("USAGE", "Only regular files can be streamed");
      const tmp = join(this.stagingDir, `tmp-${process.pid}-${this.tmpCounter++}`);
      const hasher = trusted && expected !== undefined ? null : contentHasher(header);
      let written = 0;
      const fd = openSync(tmp, "w", 0o600);
      try {
        // the data as it comes, counted (never more than declared) and hashed
        const counted = async function* () {
          for await (const chunk of data) {
            written += chunk.length;
            if (written > size)
              throw new ArborError("OBJECT_CORRUPT", `Content data exceeds the declared ${size} bytes`);
            hasher?.update(chunk);
            yield chunk;
          }
        };
        if (this.repo.archive) {
          writeAll(fd, encodeArchiveHeader(header, size));
          // compressed on several pool threads; it settles only once nothing more is under way,
          // so no write to `fd` runs on after it is closed below, whichever step failed
          await deflateToWriter(counted(), (chunk) => writeAllOffThread(fd, chunk));
        } else {
          for await (const chunk of counted()) await writeAllOffThread(fd, chunk);
        }
        if (written !== size)
          throw new ArborError("OBJECT_CORRUPT", `Content data is ${written} bytes, expected ${size}`);
      } catch (e) {
        closeSync(fd);
        rmSync(tmp, { force: true });
        throw e instanceof ArborError ? e : fromSystemError("Cannot write content object", e);
      }
      closeSync(fd);
      const checksum = hasher === null ? expected! : hasher.digest("hex");
      if (expected !== undefined && expected !== checksum) {
        rmSync(tmp, { force: true });
        throw checksumMismatch("file", expected, checksum);
      }
      const rel = objectRelPath(checksum, "file", this.repo.archive);
      this.stats.contentTotal++;
      if (this.staged.has(rel) || this.storedHere("file", checksum, rel)) {
        rmSync(tmp, { force: true });
        return checksum;
      }
      const p = this.stagePath(rel);
      renameSync(tmp, p);
      if (!this.repo.archive) this.writeBareContent(p, header, null);
      else this.fixupArchive(p);
      this.recordContent(rel, size);
      return checksum;
    } finally {
      leave();
    }
  }

  /**
   * Stage an archive repository's content object (`.filez`) exactly as `data` gives it, under
   * `checksum`, neither parsed nor hashed: only `pull --mirror --http-trusted` into an archive
   * repository does this (as ostree's trusted-HTTP mirror path); a corrupt object is stored as is
   * and `fsck` reports it. The caller bounds `data` (src/pull/trusted-content.ts). Durability is
   * every staged object's: synced and renamed into place by {@link commit}. Returns false, reading
   * nothing, when the object is already stored or staged.
   * @throws ArborError USAGE (not an archive repository, bad checksum), whatever `data` throws,
   *   NO_SPACE, IO
   */
  async writeTrustedArchiveContent(checksum: string, data: AsyncIterable<Uint8Array>): Promise<boolean> {
    const leave = this.enterWrite();
    try {
      if (!this.repo.archive || !isChecksum(checksum))
        throw new ArborError(
          "USAGE",
          `Cannot store "${checksum}" unverified: only archive content objects can be, by checksum`,
        );
      const rel = objectRelPath(checksum, "file", true);
      this.stats.contentTotal++;
      if (this.staged.has(rel) || this.storedHere("file", checksum, rel)) return false;
      this.staged.set(rel, { type: "file", rel }); // reserve before any await, as writeContent
      const tmp = join(this.stagingDir, `tmp-${process.pid}-${this.tmpCounter++}`);
      try {
        const fd = openSync(tmp, "w", 0o600);
        try {
          faultPoint("write-object");
          for await (const chunk of data) writeAll(fd, chunk);
          fchmodSync(fd, 0o644);
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, this.stagePath(rel));
      } catch (e) {
        this.staged.delete(rel);
        rmSync(tmp, { force: true });
        throw e instanceof ArborError ? e : fromSystemError(`Cannot write content object ${checksum}`, e);
      }
      // the uncompressed size is unknown (the header is not read): contentBytesWritten unchanged
      this.stats.contentWritten++;
      return true;
    } finally {
      leave();
    }
  }

  /** A content object of `size` data bytes now lies in the staging dir under `rel`. */
  private recordContent(rel: string, size: number): void {
    this.staged.set(rel, { type: "file", rel });
    this.stats.contentWritten++;
    this.stats.contentBytesWritten += size;
  }

  private fixupArchive(p: string): void {
    const fd = openSync(p, "r");
    try {
      fchmodSync(fd, 0o644);
    } finally {
      closeSync(fd);
    }
  }

  /** {@link writeBareContent} for in-memory data, creating and writing the file off the main thread. */
  private async writeBareContentAsync(p: string, h: FileHeader, data: Uint8Array): Promise<void> {
    const mode = this.repo.mode;
    if (isLnk(h.mode) && mode !== "bare-user") {
      this.writeBareContent(p, h, data); // a real symlink
      return;
    }
    const body = isLnk(h.mode) ? bareUserSymlinkBody(h) : data;
    const written = writeBareFileNative(mode, p, h, body);
    if (written) await written;
    else if (mode === "bare-user-only") this.writeBareContent(p, h, data);
    else await createFileOffThread(p, body, 0o600, (fd) => this.setBareMetadata(fd, h));
  }

  /** The metadata of a bare-mode regular-file object (or bare-user symlink), set through its fd. */
  private setBareMetadata(fd: number, h: FileHeader): void {
    setBareMetadata(this.repo.mode, fd, h);
  }

  /** The on-disk form of a staged bare-mode object (stage-content.ts); `data` null: already written. */
  private writeBareContent(p: string, h: FileHeader, data: Uint8Array | null): void {
    writeBareContentSync(this.repo.mode, p, h, data);
  }

  /**
   * Adopt a regular file that the caller gives up (`commit --consume` into a bare or bare-user-only
   * repository, as ostree does): hash it in place and rename it into the staging dir instead of
   * copying it, so the object is the caller's inode. `header` must describe the file as it is on
   * disk (bare), or with the canonical mode it is given here (bare-user-only: `mode & 0755`).
   * Returns null when the file cannot be renamed here (another filesystem): store it normally.
   * An object already stored is not replaced (the file is left for the caller to delete).
   * @throws ArborError IO
   */
  async adoptFile(header: FileHeader, path: string, size: number): Promise<string | null> {
    const leave = this.enterWrite();
    try {
      if (!isReg(header.mode) || this.repo.archive || this.repo.mode === "bare-user")
        throw new ArborError("USAGE", `Cannot adopt "${path}" into a ${this.repo.mode} repository`);
      const hasher = contentHasher(header);
      try {
        const { createReadStream } = await import("node:fs");
        let n = 0;
        for await (const chunk of createReadStream(path, {
          highWaterMark: 1 << 20,
        }) as AsyncIterable<Buffer>) {
          n += chunk.length;
          hasher.update(chunk);
        }
        if (n !== size) throw new ArborError("IO", `File "${path}" changed size while being committed`);
      } catch (e) {
        throw fromSystemError(`Cannot read "${path}"`, e);
      }
      const checksum = hasher.digest("hex");
      const rel = objectRelPath(checksum, "file", false);
      this.stats.contentTotal++;
      if (this.staged.has(rel) || this.storedHere("file", checksum, rel)) return checksum;
      const p = this.stagePath(rel);
      try {
        if (this.repo.mode === "bare-user-only") chmodSync(path, header.mode & 0o755);
        renameSync(path, p);
      } catch (e) {
        this.stats.contentTotal--;
        if (errnoCode(e) === "EXDEV") return null;
        throw fromSystemError(`Cannot adopt "${path}" as content object ${checksum}`, e);
      }
      this.recordContent(rel, size);
      return checksum;
    } finally {
      leave();
    }
  }

  /**
   * Stage an object as a hard link to `srcPath`, the same object in another repository that stores
   * it in the same form (pull-local: metadata in any mode, content between repos of one mode).
   * The caller has verified the object (or trusts it); `check(linkedPath)` may inspect the new link
   * and throw to refuse it (the link is removed). Returns false when no link can be made (other
   * filesystem, link limit, permissions): copy instead.
   * @throws whatever `check` throws; ArborError IO for other failures.
   */
  linkObject(
    type: ObjectType,
    checksum: string,
    srcPath: string,
    check?: (linkedPath: string) => void,
  ): boolean {
    this.ensureOpen();
    const rel = objectRelPath(checksum, type, this.repo.archive);
    if (this.staged.has(rel) || this.storedHere(type, checksum, rel)) return true;
    const p = this.stagePath(rel);
    try {
      linkSync(srcPath, p);
    } catch (e) {
      const c = errnoCode(e);
      if (c === "EXDEV" || c === "EMLINK" || c === "EPERM" || c === "EACCES") return false;
      throw fromSystemError(`Cannot link object ${checksum}.${type}`, e);
    }
    try {
      check?.(p);
    } catch (e) {
      rmSync(p, { force: true });
      throw e;
    }
    this.staged.set(rel, { type, rel });
    if (type === "file") this.stats.contentWritten++;
    else this.stats.metadataWritten++;
    return true;
  }

  /**
   * Have `path` (a file written outside the transaction, e.g. a pull's commitpartial marker, without
   * an fsync of its own) made durable with the staged objects, before any of them is published:
   * one syncfs covers it, and the fsync-per-file fallback fsyncs it and its directory too.
   */
  syncBeforePublish(path: string): void {
    this.ensureOpen();
    this.durableFirst.push(path);
  }

  /** Queue a ref update (null deletes); applied after all objects are durable. */
  setRef(ref: string, checksum: string | null, remote: string | null = null): void {
    this.ensureOpen();
    this.refUpdates.push({ ref, remote, checksum });
  }

  /** Number of objects staged so far. */
  get stagedCount(): number {
    return this.staged.size;
  }

  /**
   * Make everything durable and visible, then move the refs (see the file comment).
   * @throws ArborError NO_SPACE, IO
   */
  async commit(): Promise<TransactionStats> {
    this.ensureOpen();
    this.done = true;
    if (testErrors().has("pre-commit")) {
      // ostree's test hook: fail before publishing anything, leaving the staging dir (unclaimed)
      // for the next transaction of this boot to reuse, or one of another boot to delete
      this.stagingLock?.release();
      this.stagingLock = null;
      this.lock?.release();
      this.lock = null;
      throw new ArborError("IO", "OSTREE_REPO_TEST_ERROR_PRE_COMMIT specified");
    }
    try {
      if (this.staged.size || this.durableFirst.length) {
        syncStaged(this.repo, this.stagingDir, () => [
          ...[...this.staged.values()].map((s) => this.stagePath(s.rel)),
          ...this.durableFirst.flatMap((p) => [p, dirname(p)]),
        ]);
        const first: Staged[] = [];
        const last: Staged[] = [];
        for (const s of this.staged.values())
          (s.type === "commit" || s.type === "commitmeta" ? last : first).push(s);
        const at = (rel: string) => this.stagePath(rel);
        await publishStaged(this.repo, first, at);
        await publishStaged(
          this.repo,
          last.filter((s) => s.type === "commitmeta"),
          at,
        );
        await publishStaged(
          this.repo,
          last.filter((s) => s.type === "commit"),
          at,
        );
      }
      for (const u of this.refUpdates) {
        faultPoint("write-ref");
        writeRefFile(this.repo, u.ref, u.checksum, u.remote);
      }
    } catch (e) {
      throw fromSystemError("Cannot commit transaction", e);
    } finally {
      this.releaseAll();
    }
    // -- core.auto-update-summary: a transaction that moved refs regenerates the summary (ostree)
    if (this.refUpdates.length) await maybeAutoUpdateSummary(this.repo);
    return this.stats;
  }

  /**
   * Discard everything staged; refs are not touched. Writes already under way are let finish
   * first (new ones are refused), so none lands in the staging dir after it is removed.
   * Never throws: it runs on failure paths, whose error is the one to report.
   */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    while (this.writing > 0) await new Promise<void>((wake) => this.whenIdle.push(wake));
    this.releaseAll();
  }
}

/** `$OSTREE_REPO_TEST_ERROR`: ostree's comma-separated test failure points (`pre-commit`…). */
function testErrors(): Set<string> {
  const v = process.env.OSTREE_REPO_TEST_ERROR;
  return new Set(v ? v.split(",").map((x) => x.trim()) : []);
}

function writeWhole(p: string, b: Uint8Array, mode: number): void {
  const fd = openSync(p, "w", mode);
  try {
    writeAll(fd, b);
  } finally {
    closeSync(fd);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
