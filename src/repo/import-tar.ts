/**
 * `commit --tree=tar=FILE`: import a tar archive (plain, gzip, bzip2, xz or zstd; FILE `-` is
 * standard input) into a MutableTree; cpio archives are handed to import-cpio.ts.
 * Paths are normalised (leading `/` and `./` dropped) and every component validated, so a hostile
 * archive (`../x`, `a/../../b`, NUL) is refused, never written anywhere.
 */
import type { Readable } from "node:stream";
import { Parser, type ReadEntry } from "tar";
import type { FileHeader } from "../core/content-header.js";
import { S_IFDIR, S_IFLNK, S_IFREG } from "../core/mode.js";
import { isValidFilename } from "../core/validate.js";
import { ArborError, withContext } from "../errors.js";
import { openArchiveSource } from "./archive-source.js";
import type { Importer } from "./importer.js";
import type { MutableTree } from "./mutable-tree.js";

/** Split and validate an archive member path. @throws ArborError BAD_NAME */
export function tarPathParts(p: string): string[] {
  const parts = p.split("/").filter((x) => x !== "" && x !== ".");
  for (const x of parts) {
    if (!isValidFilename(x)) throw new ArborError("BAD_NAME", `Invalid path in archive: "${p}"`);
  }
  return parts;
}

/** `--tar-pathname-filter` and `--tar-autocreate-parents`, as ostree. */
export interface ArchiveImportOptions {
  /** Replace the first match of `regex` in each member path (normalised: no leading `./` or `/`). */
  pathnameFilter?: { regex: RegExp; replacement: string };
  /**
   * Create missing parent directories (0755, 0:0, then the modifiers). `false` (the CLI without
   * `--tar-autocreate-parents`, as ostree): a missing parent is an error. Default: create.
   */
  autocreateParents?: boolean;
}

/**
 * A member's path as it goes into the tree: normalised, then rewritten by the pathname filter
 * (directories keep their trailing `/` for the filter, as with ostree), then validated.
 * @throws ArborError BAD_NAME for `..`, NUL and other invalid components.
 */
export function archivePathParts(raw: string, opts: ArchiveImportOptions = {}): string[] {
  const parts = tarPathParts(raw);
  const f = opts.pathnameFilter;
  if (!f || parts.length === 0) return parts;
  const s = parts.join("/") + (raw.endsWith("/") ? "/" : "");
  const m = f.regex.exec(s);
  if (!m) return parts;
  return tarPathParts(s.slice(0, m.index) + f.replacement + s.slice(m.index + m[0].length));
}

/** The decompressed stream of an archive (gzip, bzip2, xz, zstd sniffed by magic). @throws ArborError */
export async function openArchive(path: string): Promise<Readable> {
  return (await openArchiveSource(path)).stream;
}

/** Metadata of a directory the archive does not list: 0755, 0:0, then the commit modifiers (as ostree). */
function autoDirmeta(imp: Importer, path: string): string {
  const m = imp.modify(path, 0, 0, S_IFDIR | 0o755, []);
  return imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
}

/**
 * The directory at `parts` under `root`; missing ones are created unless `opts.autocreateParents`
 * is `false`. @throws ArborError NOT_FOUND for a missing directory that may not be created.
 */
export function dirAt(
  root: MutableTree,
  parts: string[],
  imp: Importer,
  opts: ArchiveImportOptions = {},
): MutableTree {
  let d = root;
  let path = "";
  for (const p of parts) {
    path += `/${p}`;
    const existing = d.getDir(p);
    if (!existing && opts.autocreateParents === false)
      throw new ArborError("NOT_FOUND", `No such file or directory: ${p}`);
    d = d.ensureDir(p);
    if (!existing && !d.meta) d.meta = autoDirmeta(imp, path);
  }
  return d;
}

/**
 * Import a tar or cpio archive (`-`: standard input; compression sniffed) into `root`.
 * @throws ArborError BAD_NAME for hostile member paths, OBJECT_CORRUPT for malformed cpio data,
 * UNSUPPORTED for device nodes and other member types; all prefixed with the archive's name.
 */
export async function importTar(
  imp: Importer,
  path: string,
  root: MutableTree,
  opts: ArchiveImportOptions = {},
): Promise<void> {
  // without --tar-autocreate-parents an archive with no `./` entry leaves the root without
  // metadata, and the commit then fails "Can't commit an empty tree" (as ostree)
  if (!root.meta && opts.autocreateParents !== false) root.meta = autoDirmeta(imp, "/");
  const label = path === "-" ? "<stdin>" : path;
  const src = await openArchiveSource(path).catch((e) => {
    throw withContext(`Cannot import archive "${label}"`, e);
  });
  if (src.format === "empty") return;
  if (src.format === "cpio") {
    const { importCpio } = await import("./import-cpio.js");
    await importCpio(imp, src.stream, root, opts).catch((e) => {
      throw withContext(`Cannot import archive "${label}"`, e);
    });
    return;
  }
  // for hard links: each member's checksum, as a promise registered before the handler's first
  // await (entries are handled concurrently, so a link may arrive before its target is stored)
  const byPath = new Map<string, Promise<string>>();
  const pending: Promise<void>[] = [];
  let failure: unknown = null;
  const parser = new Parser({ strict: true });
  const handle = async (entry: ReadEntry): Promise<void> => {
    const parts = archivePathParts(entry.path, opts);
    const type = entry.type;
    const uid = entry.uid ?? 0;
    const gid = entry.gid ?? 0;
    const perm = (entry.mode ?? 0o644) & 0o7777;
    if (type === "Directory") {
      entry.resume();
      if (parts.length === 0) {
        const m = imp.modify("/", uid, gid, perm, []);
        root.meta = imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
        return;
      }
      const d = dirAt(root, parts.slice(0, -1), imp, opts).ensureDir(parts[parts.length - 1]!);
      const m = imp.modify(`/${parts.join("/")}`, uid, gid, perm, []);
      d.meta = imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
      return;
    }
    if (parts.length === 0) throw new ArborError("BAD_NAME", `Invalid path in archive: "${entry.path}"`);
    const name = parts[parts.length - 1]!;
    const dir = dirAt(root, parts.slice(0, -1), imp, opts);
    const rel = `/${parts.join("/")}`;
    if (imp.skips(rel)) {
      entry.resume();
      return;
    }
    if (type === "Link") {
      entry.resume();
      const target = `/${archivePathParts(entry.linkpath ?? "", opts).join("/")}`;
      const stored = byPath.get(target);
      if (!stored)
        throw new ArborError(
          "BAD_NAME",
          `Hard link "${entry.path}" points to "${entry.linkpath}", which is not an earlier file in the archive`,
        );
      byPath.set(rel, stored);
      dir.replaceFile(name, await stored);
      return;
    }
    if (type === "SymbolicLink") {
      entry.resume();
      const m = imp.modify(rel, uid, gid, S_IFLNK | 0o777, []);
      const h: FileHeader = {
        uid: m.uid,
        gid: m.gid,
        mode: m.mode,
        symlinkTarget: entry.linkpath ?? "",
        xattrs: [],
      };
      if (!h.symlinkTarget) throw new ArborError("BAD_NAME", `Symlink "${entry.path}" has an empty target`);
      const stored = imp.sink.content(h, new Uint8Array(0));
      byPath.set(rel, stored);
      dir.replaceFile(name, await stored);
      imp.progress(0);
      return;
    }
    if (type === "File" || type === "OldFile" || type === "ContiguousFile") {
      const stored = (async () => {
        const chunks: Buffer[] = [];
        for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
        const data = Buffer.concat(chunks);
        const m = imp.modify(rel, uid, gid, S_IFREG | perm, []);
        const h: FileHeader = { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: "", xattrs: [] };
        const cs = await imp.sink.content(h, data);
        imp.progress(data.length);
        return cs;
      })();
      byPath.set(rel, stored);
      dir.replaceFile(name, await stored);
      return;
    }
    entry.resume();
    throw new ArborError(
      "UNSUPPORTED",
      `Cannot import "${entry.path}" from archive: unsupported entry type ${type}`,
    );
  };
  parser.on("entry", (entry: ReadEntry) => {
    if (failure) {
      entry.resume();
      return;
    }
    // entries arrive one at a time and their data must be consumed in order
    const p = handle(entry).catch((e) => {
      entry.resume(); // a member refused before its data was read must not stall the parser
      failure ??= e;
    });
    pending.push(p);
  });
  await new Promise<void>((resolve, reject) => {
    parser.on("error", reject);
    src.stream.on("error", reject);
    parser.on("end", () => resolve());
    src.stream.pipe(parser);
  }).catch((e) => {
    throw withContext(`Cannot import archive "${label}"`, e);
  });
  await Promise.all(pending);
  if (failure) throw withContext(`Cannot import archive "${label}"`, failure);
}
