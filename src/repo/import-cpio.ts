/**
 * `commit --tree=tar=FILE.cpio`: import a newc/crc cpio archive (see cpio-reader.ts) into a
 * MutableTree, with the same path rules, modifiers and pathname filter as tar input.
 */
import type { Readable } from "node:stream";
import type { FileHeader } from "../core/content-header.js";
import { S_IFLNK, S_IFREG } from "../core/mode.js";
import { ArborError } from "../errors.js";
import { readCpio } from "./cpio-reader.js";
import { type ArchiveImportOptions, archivePathParts, dirAt } from "./import-tar.js";
import type { Importer } from "./importer.js";
import type { MutableTree } from "./mutable-tree.js";

/**
 * Import every member of the cpio stream `src` into `root`.
 * @throws ArborError OBJECT_CORRUPT (malformed data), BAD_NAME (hostile paths, dangling hard links).
 */
export async function importCpio(
  imp: Importer,
  src: Readable,
  root: MutableTree,
  opts: ArchiveImportOptions = {},
): Promise<void> {
  const byPath = new Map<string, string>();
  for await (const e of readCpio(src)) {
    const parts = archivePathParts(e.path, opts);
    const rel = `/${parts.join("/")}`;
    if (e.kind === "dir") {
      const d = parts.length
        ? dirAt(root, parts.slice(0, -1), imp, opts).ensureDir(parts[parts.length - 1]!)
        : root;
      const m = imp.modify(rel, e.uid, e.gid, e.mode, []);
      d.meta = imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
      continue;
    }
    if (parts.length === 0) throw new ArborError("BAD_NAME", `Invalid path in archive: "${e.path}"`);
    if (imp.skips(rel)) continue;
    const name = parts[parts.length - 1]!;
    const dir = dirAt(root, parts.slice(0, -1), imp, opts);
    let cs: string;
    if (e.kind === "hardlink") {
      const target = `/${archivePathParts(e.target, opts).join("/")}`;
      const stored = byPath.get(target);
      if (!stored)
        throw new ArborError(
          "BAD_NAME",
          `Hard link "${e.path}" points to "${e.target}", which was not imported`,
        );
      cs = stored;
    } else if (e.kind === "symlink") {
      const m = imp.modify(rel, e.uid, e.gid, S_IFLNK | 0o777, []);
      const h: FileHeader = { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: e.target, xattrs: [] };
      cs = await imp.sink.content(h, new Uint8Array(0));
      imp.progress(0);
    } else {
      const m = imp.modify(rel, e.uid, e.gid, S_IFREG | e.mode, []);
      const h: FileHeader = { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: "", xattrs: [] };
      cs = await imp.sink.content(h, e.data);
      imp.progress(e.data.length);
    }
    byPath.set(rel, cs);
    dir.replaceFile(name, cs);
  }
}
