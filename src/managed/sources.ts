/**
 * Turning one declared source (a folder, a tarball, a commit) into a {@link MutableTree}.
 *
 * Device nodes, fifos and sockets are left out and counted (an image carries none: the kernel's
 * devtmpfs provides /dev). With `whiteouts`, OCI whiteout files (`.wh.NAME`, `.wh..wh..opq`) are
 * kept as markers (never written as objects) for {@link overlayTree} to apply.
 */
import { type Dirent, lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import type { FileHeader, Xattrs } from "../core/content-header.js";
import { S_IFLNK, S_IFREG } from "../core/mode.js";
import { isValidFilename } from "../core/validate.js";
import { ArborError, fromSystemError, withContext } from "../errors.js";
import { readXattrsOf } from "../repo/commit.js";
import { MutableTree } from "../repo/mutable-tree.js";
import { resolveRev } from "../repo/refs.js";
import { Repo } from "../repo/repo.js";
import { type TreeBuilder, WHITEOUT_MARK } from "./tree-builder.js";

/** Options for importing one source. */
export interface ImportOptions {
  /** Keep `.wh.*` files as whiteout markers. */
  whiteouts?: boolean;
  signal?: AbortSignal;
}

/** The xattrs of a file as `ostree commit` records them (commit.ts's reader: one rule for both). */
function readXattrs(path: string): Xattrs {
  try {
    return readXattrsOf(path);
  } catch (e) {
    throw fromSystemError(`Cannot read extended attributes of "${path}"`, e);
  }
}

/**
 * Import a directory on disk.
 * @throws ArborError NOT_FOUND, USAGE (not a directory), BAD_NAME, IO
 */
export async function importDir(b: TreeBuilder, src: string, o: ImportOptions = {}): Promise<MutableTree> {
  const xattrsWanted = b.norm.xattrs !== "drop" && b.repo.mode !== "bare-user-only";
  let rootSt: Stats;
  try {
    rootSt = lstatSync(src);
  } catch (e) {
    throw fromSystemError(`Cannot import "${src}"`, e);
  }
  if (!rootSt.isDirectory()) throw new ArborError("USAGE", `Cannot import "${src}": not a directory`);
  const root = new MutableTree();
  const walk = async (abs: string, rel: string, dir: MutableTree, st: Stats): Promise<void> => {
    o.signal?.throwIfAborted();
    dir.meta = b.dirmeta(b.normalize(st.uid, st.gid, st.mode, xattrsWanted ? readXattrs(abs) : []));
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      throw fromSystemError(`Cannot read directory "${abs}"`, e);
    }
    for (const ent of entries) {
      const name = ent.name;
      const childAbs = join(abs, name);
      if (!isValidFilename(name) || name.includes("\uFFFD")) {
        throw new ArborError("BAD_NAME", `Cannot import "${childAbs}": invalid file name`);
      }
      const childRel = `${rel}/${name}`;
      if (o.whiteouts && name.startsWith(".wh.")) {
        dir.replaceFile(name, WHITEOUT_MARK);
        continue;
      }
      const cst = lstatSync(childAbs);
      if (cst.isDirectory()) {
        await walk(childAbs, childRel, dir.ensureDir(name), cst);
        continue;
      }
      const isLink = cst.isSymbolicLink();
      if (!isLink && !cst.isFile()) {
        b.stats.dropped.push(childRel);
        continue;
      }
      const m = b.normalize(
        cst.uid,
        cst.gid,
        isLink ? S_IFLNK | 0o777 : (cst.mode & 0o7777) | S_IFREG,
        xattrsWanted ? readXattrs(childAbs) : [],
      );
      const h: FileHeader = { ...m, symlinkTarget: isLink ? readlinkSync(childAbs) : "" };
      const size = isLink ? 0 : cst.size;
      await b.pool.run(async () => {
        let cs: string;
        try {
          cs = isLink ? await b.content(h, new Uint8Array(0)) : await b.fileFrom(h, childAbs, size);
        } catch (e) {
          throw withContext(`Cannot import "${childAbs}"`, e);
        }
        dir.replaceFile(name, cs);
        b.counted(size);
      });
    }
  };
  await walk(src, "", root, rootSt);
  await b.pool.drain();
  return root;
}

/**
 * Import a commit's tree (of the target repository, or of `repoPath`). Nothing is read until
 * something is layered over it.
 * @throws ArborError NOT_FOUND (repo or ref), OBJECT_NOT_FOUND
 */
export function importRef(
  b: TreeBuilder,
  rev: string,
  repoPath?: string,
): { tree: MutableTree; commit: string } {
  let repo = b.repo;
  if (repoPath !== undefined) {
    repo = b.repos.find((r) => r.path === repoPath) ?? Repo.open(repoPath);
    if (!b.repos.includes(repo)) b.repos.push(repo);
  }
  const cs = resolveRev(repo, rev)!;
  const c = repo.loadCommit(cs);
  return { tree: MutableTree.fromRepo(repo, c.rootTree, c.rootMeta), commit: cs };
}

/**
 * Import a tarball (plain, gzip, xz or zstd). Hard links must point to earlier members; member
 * paths are validated component by component, so `../` cannot escape the tree.
 * @throws ArborError BAD_NAME, UNSUPPORTED, IO
 */
export async function importTarball(
  b: TreeBuilder,
  path: string,
  o: ImportOptions = {},
): Promise<MutableTree> {
  const { Parser } = await import("tar");
  const { openArchive, tarPathParts } = await import("../repo/import-tar.js");
  const root = new MutableTree();
  root.meta = b.dirmeta(b.normalize(0, 0, 0o755, []));
  const byPath = new Map<string, string>();
  const dirAt = (parts: string[]): MutableTree => {
    let d = root;
    for (const p of parts) {
      const had = d.getDir(p);
      d = d.ensureDir(p);
      if (!had && !d.meta) d.meta = b.dirmeta(b.normalize(0, 0, 0o755, []));
    }
    return d;
  };
  const handle = async (entry: import("tar").ReadEntry): Promise<void> => {
    const parts = tarPathParts(entry.path);
    const uid = entry.uid ?? 0;
    const gid = entry.gid ?? 0;
    const perm = (entry.mode ?? 0o644) & 0o7777;
    const rel = `/${parts.join("/")}`;
    if (entry.type === "Directory") {
      entry.resume();
      const d = parts.length === 0 ? root : dirAt(parts);
      d.meta = b.dirmeta(b.normalize(uid, gid, perm, []));
      return;
    }
    if (parts.length === 0) throw new ArborError("BAD_NAME", `Invalid path in archive: "${entry.path}"`);
    const name = parts[parts.length - 1]!;
    const dir = dirAt(parts.slice(0, -1));
    if (o.whiteouts && name.startsWith(".wh.")) {
      entry.resume();
      dir.replaceFile(name, WHITEOUT_MARK);
      return;
    }
    if (entry.type === "Link") {
      entry.resume();
      const cs = byPath.get(`/${tarPathParts(entry.linkpath ?? "").join("/")}`);
      if (!cs)
        throw new ArborError("BAD_NAME", `Hard link "${entry.path}" does not point to an earlier file`);
      dir.replaceFile(name, cs);
      byPath.set(rel, cs);
      return;
    }
    if (entry.type === "SymbolicLink") {
      entry.resume();
      if (!entry.linkpath) throw new ArborError("BAD_NAME", `Symlink "${entry.path}" has an empty target`);
      const h: FileHeader = { ...b.normalize(uid, gid, S_IFLNK | 0o777, []), symlinkTarget: entry.linkpath };
      const cs = await b.content(h, new Uint8Array(0));
      dir.replaceFile(name, cs);
      byPath.set(rel, cs);
      b.counted(0);
      return;
    }
    if (entry.type === "File" || entry.type === "OldFile" || entry.type === "ContiguousFile") {
      const chunks: Buffer[] = [];
      for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
      const data = Buffer.concat(chunks);
      const h: FileHeader = { ...b.normalize(uid, gid, S_IFREG | perm, []), symlinkTarget: "" };
      const cs = await b.content(h, data);
      dir.replaceFile(name, cs);
      byPath.set(rel, cs);
      b.counted(data.length);
      return;
    }
    entry.resume();
    if (entry.type === "CharacterDevice" || entry.type === "BlockDevice" || entry.type === "FIFO") {
      b.stats.dropped.push(rel);
      return;
    }
    throw new ArborError(
      "UNSUPPORTED",
      `Cannot import "${entry.path}": unsupported entry type ${entry.type}`,
    );
  };
  const parser = new Parser({ strict: true });
  const pending: Promise<void>[] = [];
  let failure: unknown = null;
  parser.on("entry", (entry: import("tar").ReadEntry) => {
    if (failure) {
      entry.resume();
      return;
    }
    pending.push(
      handle(entry).catch((e) => {
        failure ??= e;
      }),
    );
  });
  const src = await openArchive(path);
  try {
    await new Promise<void>((res, rej) => {
      parser.on("error", rej);
      src.on("error", rej);
      parser.on("end", () => res());
      src.pipe(parser);
    });
    await Promise.all(pending);
  } catch (e) {
    throw withContext(`Cannot import archive "${path}"`, e);
  }
  if (failure) throw withContext(`Cannot import archive "${path}"`, failure);
  return root;
}
