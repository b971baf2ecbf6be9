/**
 * Path lookup inside a commit's tree: walk dirtrees from the root by path components.
 */
import type { Repo } from "./repo.js";

export type TreeEntry =
  | { kind: "dir"; name: string; path: string; tree: string; meta: string }
  | { kind: "file"; name: string; path: string; checksum: string };

/** Split a tree path (`/usr/bin`, `usr/bin/`, `/`) into components. */
export function pathParts(p: string): string[] {
  return p.split("/").filter((x) => x !== "" && x !== ".");
}

/**
 * Find the entry at `path` under the given root, or null. The root itself is a dir entry named "/".
 * @throws ArborError OBJECT_NOT_FOUND / OBJECT_CORRUPT for missing or bad dirtrees on the way.
 */
export function lookupPath(repo: Repo, rootTree: string, rootMeta: string, path: string): TreeEntry | null {
  const parts = pathParts(path);
  let tree = rootTree;
  let meta = rootMeta;
  for (let i = 0; i < parts.length; i++) {
    const dt = repo.loadDirtree(tree);
    const name = parts[i]!;
    const d = dt.dirs.find((x) => x.name === name);
    const at = `/${parts.slice(0, i + 1).join("/")}`;
    if (d) {
      tree = d.tree;
      meta = d.meta;
      continue;
    }
    const f = dt.files.find((x) => x.name === name);
    if (f && i === parts.length - 1) return { kind: "file", name, path: at, checksum: f.checksum };
    return null;
  }
  return { kind: "dir", name: parts.length ? parts[parts.length - 1]! : "/", path: `/${parts.join("/")}`, tree, meta };
}
