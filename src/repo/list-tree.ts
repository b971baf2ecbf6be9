/**
 * Listing a commit's tree with each entry's metadata (for `ls`), in ostree's order:
 * a directory's files first, then its subdirectories (each followed by its contents with -R).
 */
import type { Xattrs } from "../core/content-header.js";
import { S_IFDIR } from "../core/mode.js";
import { withContext } from "../errors.js";
import { lookupPathStrict } from "./lookup.js";
import { statFileObject } from "./read-object.js";
import type { Repo } from "./repo.js";

export interface TreeListEntry {
  path: string;
  type: "dir" | "file" | "symlink";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Content checksum, or dirtree checksum for directories. */
  checksum: string;
  metaChecksum?: string;
  target?: string;
  xattrs?: Xattrs;
}

function dirEntry(repo: Repo, path: string, tree: string, meta: string): TreeListEntry {
  const m = repo.loadDirmeta(meta);
  return {
    path,
    type: "dir",
    mode: m.mode | S_IFDIR,
    uid: m.uid,
    gid: m.gid,
    size: 0,
    checksum: tree,
    metaChecksum: meta,
    xattrs: m.xattrs,
  };
}

function fileEntry(repo: Repo, path: string, checksum: string): TreeListEntry {
  const o = statFileObject(repo, checksum);
  const link = o.header.symlinkTarget !== "";
  return {
    path,
    type: link ? "symlink" : "file",
    mode: o.header.mode,
    uid: o.header.uid,
    gid: o.header.gid,
    size: o.size,
    checksum,
    ...(link ? { target: o.header.symlinkTarget } : {}),
    xattrs: o.header.xattrs,
  };
}

/**
 * List `path` in a tree: the entry itself, then (unless dirOnly) its children, recursively with
 * `recursive`.
 * @throws ArborError NOT_FOUND / USAGE worded as ostree: "Inspecting path 'P': No such file or
 *   directory: /a", "Inspecting path 'P': Not a directory".
 */
export function listTree(
  repo: Repo,
  rootTree: string,
  rootMeta: string,
  path: string,
  o: { recursive?: boolean; dirOnly?: boolean },
): TreeListEntry[] {
  let hit: ReturnType<typeof lookupPathStrict>;
  try {
    hit = lookupPathStrict(repo, rootTree, rootMeta, path);
  } catch (e) {
    throw withContext(`Inspecting path '${path}'`, e);
  }
  if (hit.kind === "file") return [fileEntry(repo, hit.path, hit.checksum)];
  const out: TreeListEntry[] = [dirEntry(repo, hit.path, hit.tree, hit.meta)];
  if (o.dirOnly) return out;
  const walk = (dirPath: string, tree: string) => {
    const dt = repo.loadDirtree(tree);
    const prefix = dirPath === "/" ? "" : dirPath;
    for (const f of dt.files) out.push(fileEntry(repo, `${prefix}/${f.name}`, f.checksum));
    for (const d of dt.dirs) {
      const p = `${prefix}/${d.name}`;
      out.push(dirEntry(repo, p, d.tree, d.meta));
      if (o.recursive) walk(p, d.tree);
    }
  };
  walk(hit.path, hit.tree);
  return out;
}
