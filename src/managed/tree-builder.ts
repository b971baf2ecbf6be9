/**
 * Building an image tree in memory: a {@link MutableTree} whose content objects are written to a
 * transaction (or only hashed, for `--dry-run`), plus side tables of the headers and dirmetas
 * hashed on the way, so later steps (the OSTree postprocess) can ask what an entry is without
 * reading objects back.
 *
 * Reproducibility lives here: every header goes through {@link TreeBuilder.normalize}, which
 * applies the manifest's declared owner/permission/xattr policy; nothing records a time (OSTree
 * objects carry no mtime, and dirtrees are sorted by name), so the walk order of the inputs and
 * their timestamps cannot change a checksum.
 */
import { sha256Hex } from "../core/checksum.js";
import { contentHasher, type FileHeader, type Xattrs } from "../core/content-header.js";
import { type Dirmeta, decodeDirmeta, encodeDirmeta } from "../core/metadata.js";
import { S_IFDIR, S_IFLNK, S_IFMT } from "../core/mode.js";
import { ArborError } from "../errors.js";
import { Pool } from "../io/pool.js";
import { readSizedChunks, readSizedSync } from "../io/read-sized.js";
import { MutableTree } from "../repo/mutable-tree.js";
import { statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";
import { STREAM_THRESHOLD, type Transaction } from "../repo/transaction.js";
import type { Normalize } from "./manifest.js";

/** The checksum given to whiteout markers (`.wh.NAME`) imported from disk: never written. */
export const WHITEOUT_MARK = "0".repeat(64);

/** What the builder did, for reports. */
export interface BuildStats {
  files: number;
  bytes: number;
  /** Device nodes, fifos and sockets left out (an image carries none). */
  dropped: string[];
}

/** Builds trees for one compose or derivation. */
export class TreeBuilder {
  readonly pool: Pool;
  readonly stats: BuildStats = { files: 0, bytes: 0, dropped: [] };
  private readonly headers = new Map<string, FileHeader>();
  private readonly dirmetas = new Map<string, Dirmeta>();
  private readonly dirmetaByBytes = new Map<string, string>();
  /** Repositories whose objects trees may reference (the target first). */
  readonly repos: Repo[];

  constructor(
    readonly repo: Repo,
    readonly tx: Transaction | null,
    readonly norm: Normalize = { owner: "keep", permissions: "keep", xattrs: "keep" },
    signal?: AbortSignal,
  ) {
    this.pool = new Pool(6, signal);
    this.repos = [repo];
  }

  /** Apply the declared normalization to an entry's metadata. */
  normalize(uid: number, gid: number, mode: number, xattrs: Xattrs): Dirmeta {
    if (this.norm.owner === "root") {
      uid = 0;
      gid = 0;
    }
    if (this.norm.permissions === "canonical" && (mode & S_IFMT) !== S_IFLNK)
      mode = (mode & S_IFMT) | (mode & 0o755);
    if (this.norm.xattrs === "drop" || this.repo.mode === "bare-user-only") xattrs = [];
    if (this.repo.mode === "bare-user-only") {
      uid = 0;
      gid = 0;
    }
    return { uid, gid, mode, xattrs };
  }

  /** Store (or hash) a dirmeta, once per distinct value (a tree has few); returns its checksum. */
  dirmeta(m: Dirmeta): string {
    const meta = { ...m, mode: (m.mode & 0o7777) | S_IFDIR };
    const bytes = encodeDirmeta(meta);
    const key = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
    let cs = this.dirmetaByBytes.get(key);
    if (cs === undefined) {
      cs = this.tx ? this.tx.writeMetadata("dirmeta", bytes) : sha256Hex(bytes);
      this.dirmetaByBytes.set(key, cs);
      this.dirmetas.set(cs, meta);
    }
    return cs;
  }

  /** Store (or hash) a content object from memory; returns its checksum. */
  async content(h: FileHeader, data: Uint8Array): Promise<string> {
    const cs = this.tx ? await this.tx.writeContent(h, data) : contentHasher(h).update(data).digest("hex");
    this.headers.set(cs, h);
    return cs;
  }

  /** Store (or hash) a regular file read from `path` (streamed when large). */
  async fileFrom(h: FileHeader, path: string, size: number): Promise<string> {
    let cs: string;
    if (size >= STREAM_THRESHOLD) {
      cs = this.tx
        ? await this.tx.writeContentStream(h, size, readSizedChunks(path, size))
        : await hashStream(h, readSizedChunks(path, size));
    } else {
      const data = readSizedSync(path, size);
      cs = this.tx ? await this.tx.writeContent(h, data) : contentHasher(h).update(data).digest("hex");
    }
    this.headers.set(cs, h);
    return cs;
  }

  /** Count a file for progress. */
  counted(size: number): void {
    this.stats.files++;
    this.stats.bytes += size;
  }

  /** The header of a content object: hashed in this build, or read from a known repo. */
  headerOf(cs: string): FileHeader {
    const h = this.headers.get(cs);
    if (h) return h;
    for (const r of this.repos) {
      if (!r.hasObject("file", cs)) continue;
      const o = statFileObject(r, cs).header;
      this.headers.set(cs, o);
      return o;
    }
    throw new ArborError("OBJECT_NOT_FOUND", `Content object ${cs} not found`);
  }

  /** The data of a content object hashed in this build is not kept; objects in repos are readable. */
  dirmetaOf(cs: string): Dirmeta {
    const m = this.dirmetas.get(cs);
    if (m) return m;
    for (const r of this.repos) {
      const b = r.readMetadataMaybe("dirmeta", cs);
      if (!b) continue;
      const d = decodeDirmeta(b);
      this.dirmetas.set(cs, d);
      return d;
    }
    throw new ArborError("OBJECT_NOT_FOUND", `Dirmeta object ${cs} not found`);
  }

  /** A new empty directory tree with the given metadata. */
  newDir(m: Dirmeta): MutableTree {
    const t = new MutableTree();
    t.meta = this.dirmeta(m);
    return t;
  }

  /** Write (or hash) all dirtrees of `root`. */
  finish(root: MutableTree): { tree: string; meta: string } {
    return this.tx ? root.write(this.tx) : root.checksum();
  }
}

async function hashStream(h: FileHeader, data: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = contentHasher(h);
  for await (const c of data) hash.update(c);
  return hash.digest("hex");
}
