/**
 * An OSTree repository on disk (fact sheet §3): `config`, `objects/XX/REST.EXT`, `refs/`,
 * `state/`, `tmp/`. This class owns the layout and the reading of metadata objects; content
 * objects are read in read-object.ts and everything is written through a Transaction
 * (transaction.ts), so no other code decides where bytes go.
 *
 * Invariants: an object under `objects/` is complete and durable, named by the checksum of its
 * canonical form; a ref names a commit whose objects are all present unless the commit is marked
 * partial in `state/`.
 */

import { join, resolve } from "node:path";
import {
  type Commit,
  type Dirmeta,
  type Dirtree,
  decodeCommit,
  decodeDirmeta,
  decodeDirtree,
  decodeVarDict,
  type VarDict,
} from "../core/metadata.js";
import { objectRelPath } from "../core/object-path.js";
import { isMetadataType, type ObjectType } from "../core/object-type.js";
import { validateChecksum } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { fs } from "../io/node-builtins.js";
import { KeyFile } from "./config.js";

export type RepoMode = "bare" | "bare-user" | "bare-user-only" | "archive";

/** Largest metadata object we accept (OSTree: OSTREE_MAX_METADATA_SIZE, 128 MiB). */
export const MAX_METADATA_SIZE = 128 * 1024 * 1024;

/** Decoded dirmetas a {@link Repo} keeps (then it starts afresh): far more than a tree has. */
const DIRMETA_CACHE_MAX = 4096;

/** Parse a mode name as `ostree init --mode` and `core.mode` accept it. */
export function parseRepoMode(s: string): RepoMode {
  switch (s) {
    case "bare":
    case "bare-user":
    case "bare-user-only":
      return s;
    case "archive":
    case "archive-z2":
      return "archive";
    default:
      throw new ArborError("UNSUPPORTED", `Unsupported repository mode "${s}"`);
  }
}

/** The `core.mode` value written for a mode (`archive` is written `archive-z2`, as ostree does). */
export function repoModeConfigName(m: RepoMode): string {
  return m === "archive" ? "archive-z2" : m;
}

export interface RepoCreateOptions {
  mode?: RepoMode;
  collectionId?: string;
}

export class Repo {
  /** Absolute path of the repository directory. */
  readonly path: string;
  readonly mode: RepoMode;
  config: KeyFile;

  private constructor(path: string, mode: RepoMode, config: KeyFile) {
    this.path = path;
    this.mode = mode;
    this.config = config;
  }

  get archive(): boolean {
    return this.mode === "archive";
  }

  private parentRepo: Repo | null | undefined;

  /**
   * The repository named by `core.parent` (opened on first use), whose objects and refs this one
   * falls back to for reading, as ostree does; null when none is configured.
   * @throws ArborError NOT_FOUND / BAD_CONFIG when the parent cannot be opened, BAD_CONFIG for a cycle.
   */
  get parent(): Repo | null {
    if (this.parentRepo === undefined) {
      const p = this.config.get("core", "parent");
      this.parentRepo = null;
      if (p) {
        const parent = Repo.open(p);
        for (let r: Repo | null = parent, depth = 0; r; r = r.parent, depth++) {
          if (r.path === this.path || depth > 32)
            throw new ArborError(
              "BAD_CONFIG",
              `Cannot open repository "${this.path}": core.parent forms a cycle`,
            );
        }
        this.parentRepo = parent;
      }
    }
    return this.parentRepo;
  }

  /**
   * Open an existing repository.
   * @throws ArborError NOT_FOUND if there is no repository, BAD_CONFIG / UNSUPPORTED for a bad config.
   */
  static open(path: string): Repo {
    const abs = resolve(path);
    let text: string;
    try {
      text = fs.readFileSync(join(abs, "config"), "utf8");
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") {
        throw new ArborError(
          "NOT_FOUND",
          `Cannot open repository "${path}": no config file (not an OSTree repository?)`,
        );
      }
      throw fromSystemError(`Cannot open repository "${path}"`, e);
    }
    const config = KeyFile.parse(text, `repository config "${join(path, "config")}"`);
    const version = config.get("core", "repo_version");
    if (version === undefined)
      throw new ArborError("BAD_CONFIG", `Cannot open repository "${path}": config has no core.repo_version`);
    if (version.trim() !== "1") {
      throw new ArborError(
        "UNSUPPORTED",
        `Cannot open repository "${path}": unsupported repo_version "${version}"`,
      );
    }
    const modeStr = config.get("core", "mode") ?? "bare";
    let mode: RepoMode;
    try {
      mode = parseRepoMode(modeStr.trim());
    } catch {
      throw new ArborError(
        "UNSUPPORTED",
        `Cannot open repository "${path}": unsupported mode "${modeStr}" in config`,
      );
    }
    // Like ostree, recreate tmp/ (and tmp/cache/) if someone removed it; a read-only repo is fine.
    try {
      fs.mkdirSync(join(abs, "tmp/cache"), { recursive: true });
    } catch {}
    return new Repo(abs, mode, config);
  }

  /**
   * Create a repository (as `ostree init`); an existing repository of the same mode is opened.
   * @throws ArborError EXISTS if a repository of another mode is there.
   */
  static create(path: string, opts: RepoCreateOptions = {}): Repo {
    const abs = resolve(path);
    const mode = opts.mode ?? "bare";
    let existing: Repo | null = null;
    try {
      existing = Repo.open(abs);
    } catch (e) {
      if (!(e instanceof ArborError && e.code === "NOT_FOUND")) throw e;
    }
    if (existing) {
      if (existing.mode !== mode) {
        throw new ArborError(
          "EXISTS",
          `Cannot create repository "${path}": it exists with mode "${repoModeConfigName(existing.mode)}"`,
        );
      }
      return existing;
    }
    try {
      fs.mkdirSync(abs, { recursive: true });
      for (const d of [
        "objects",
        "tmp",
        "tmp/cache",
        "extensions",
        "state",
        "refs",
        "refs/heads",
        "refs/mirrors",
        "refs/remotes",
      ]) {
        fs.mkdirSync(join(abs, d), { recursive: true });
      }
    } catch (e) {
      throw fromSystemError(`Cannot create repository "${path}"`, e);
    }
    const config = new KeyFile();
    config.set("core", "repo_version", "1");
    config.set("core", "mode", repoModeConfigName(mode));
    if (opts.collectionId) config.set("core", "collection-id", opts.collectionId);
    const repo = new Repo(abs, mode, config);
    repo.saveConfig();
    return repo;
  }

  /** Write `config` atomically (temp file, fsync, rename). */
  saveConfig(): void {
    writeFileAtomicSync(join(this.path, "config"), this.config.toString(), { mode: 0o644 });
  }

  /** Re-read `config` from disk (another process may have changed it). */
  reloadConfig(): void {
    this.config = KeyFile.parse(fs.readFileSync(join(this.path, "config"), "utf8"), "repository config");
  }

  /** Absolute path of a loose object. */
  objectPath(checksum: string, type: ObjectType): string {
    return join(this.path, objectRelPath(checksum, type, this.archive));
  }

  /** True if the object is stored (an lstat: symlinks count for bare content). */
  hasObject(type: ObjectType, checksum: string): boolean {
    return this.hasLooseObject(type, checksum) || (this.parent?.hasObject(type, checksum) ?? false);
  }

  /**
   * True if the object is stored in this repository itself (not counting `core.parent`). Called
   * once per object by pulls, commits (dedup) and traversals, so it builds no Stats object:
   * `existsSync` (access(2)) where an object is never a symlink, which costs a third of an lstat
   * here. Content objects of `bare` and `bare-user-only` repositories may be symlinks whose target
   * does not exist, so those are lstat'ed.
   * @throws ArborError IO when the lstat fails for another reason than absence.
   */
  hasLooseObject(type: ObjectType, checksum: string): boolean {
    const p = this.objectPath(checksum, type);
    if (type !== "file" || (this.mode !== "bare" && this.mode !== "bare-user-only")) return fs.existsSync(p);
    // throwIfNoEntry: an absent object is the common case (pull, commit dedup), and building an
    // exception with its stack per miss costs more than the lstat itself
    try {
      return fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return false;
      throw fromSystemError(`Cannot check for object ${checksum}.${type}`, e);
    }
  }

  /**
   * Read a metadata object's bytes.
   * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT (too large), IO
   */
  readMetadata(type: ObjectType, checksum: string): Uint8Array {
    const b = this.readMetadataMaybe(type, checksum);
    if (!b)
      throw new ArborError("OBJECT_NOT_FOUND", `No such metadata object ${checksum}.${type}`, {
        data: { checksum, type },
      });
    return b;
  }

  /** Like {@link readMetadata} but null if absent. */
  readMetadataMaybe(type: ObjectType, checksum: string): Uint8Array | null {
    if (!isMetadataType(type)) throw new ArborError("USAGE", `${type} is not a metadata object type`);
    validateChecksum(checksum);
    let fd: number;
    try {
      fd = fs.openSync(this.objectPath(checksum, type), "r");
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return this.parent?.readMetadataMaybe(type, checksum) ?? null;
      throw fromSystemError(`Cannot read object ${checksum}.${type}`, e);
    }
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile())
        throw new ArborError("OBJECT_CORRUPT", `Object ${checksum}.${type} is not a regular file`);
      const size = st.size;
      if (size > MAX_METADATA_SIZE) {
        throw new ArborError(
          "OBJECT_CORRUPT",
          `Object ${checksum}.${type} is ${size} bytes, over the ${MAX_METADATA_SIZE} limit`,
        );
      }
      const buf = new Uint8Array(size);
      let off = 0;
      while (off < size) {
        const n = fs.readSync(fd, buf, off, size - off, off);
        if (n === 0) break;
        off += n;
      }
      return off === size ? buf : buf.subarray(0, off);
    } catch (e) {
      throw e instanceof ArborError ? e : fromSystemError(`Cannot read object ${checksum}.${type}`, e);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT */
  loadCommit(checksum: string): Commit {
    return decodeCommit(this.readMetadata("commit", checksum), `commit ${checksum}`);
  }

  /**
   * Decoded dirtrees by checksum, when the owner opts in (a sysroot command walks the same commit
   * several times: checkout, whiteouts, prune). Objects are immutable, so entries never go stale;
   * callers must not modify what {@link loadDirtree} returns.
   */
  dirtreeCache: Map<string, Dirtree> | null = null;

  /** @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT */
  loadDirtree(checksum: string): Dirtree {
    const hit = this.dirtreeCache?.get(checksum);
    if (hit) return hit;
    const dt = decodeDirtree(this.readMetadata("dirtree", checksum), `dirtree ${checksum}`);
    this.dirtreeCache?.set(checksum, dt);
    return dt;
  }

  /**
   * Decoded dirmetas by checksum, always on: a tree has a handful, shared by hundreds of
   * directories (checkout, ls, diff, export read each once), and each is a few bytes. Bounded by
   * starting afresh past {@link DIRMETA_CACHE_MAX} entries.
   */
  private readonly dirmetas = new Map<string, Dirmeta>();

  /**
   * A dirmeta, decoded once per repo object (callers must not modify what this returns).
   * @throws ArborError OBJECT_NOT_FOUND, OBJECT_CORRUPT
   */
  loadDirmeta(checksum: string): Dirmeta {
    let m = this.dirmetas.get(checksum);
    if (!m) {
      m = decodeDirmeta(this.readMetadata("dirmeta", checksum), `dirmeta ${checksum}`);
      if (this.dirmetas.size >= DIRMETA_CACHE_MAX) this.dirmetas.clear();
      this.dirmetas.set(checksum, m);
    }
    return m;
  }

  /** Detached metadata of a commit, or null if there is none. */
  loadCommitMeta(checksum: string): VarDict | null {
    const b = this.readMetadataMaybe("commitmeta", checksum);
    return b ? decodeVarDict(b, `detached metadata of ${checksum}`) : null;
  }

  /** Path of the marker that says a commit's tree is incomplete. */
  commitPartialPath(checksum: string): string {
    return join(this.path, "state", `${checksum}.commitpartial`);
  }

  /** True if the commit is marked partial (interrupted pull, --commit-metadata-only…). */
  isCommitPartial(checksum: string): boolean {
    try {
      fs.lstatSync(this.commitPartialPath(checksum));
      return true;
    } catch {
      return false;
    }
  }

  /** All commits marked partial. */
  listPartialCommits(): string[] {
    try {
      return fs
        .readdirSync(join(this.path, "state"))
        .filter((n) => n.endsWith(".commitpartial"))
        .map((n) => n.slice(0, -".commitpartial".length));
    } catch {
      return [];
    }
  }

  /** Path of the repo lock file. */
  get lockPath(): string {
    return join(this.path, ".lock");
  }

  /** `core.collection-id`, if set. */
  get collectionId(): string | undefined {
    return this.config.get("core", "collection-id");
  }
}
