/**
 * Path lookup inside a commit's tree: walk dirtrees from the root by path components.
 */
import { ArborError } from "../errors.js";
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
  return {
    kind: "dir",
    name: parts.length ? parts[parts.length - 1]! : "/",
    path: `/${parts.join("/")}`,
    tree,
    meta,
  };
}

/**
 * Resolve `path` to a file the way `ostree cat` opens it: every component but the last must be a
 * directory (a symlink there is "Not a directory"), and a symlink in the last place is followed
 * (absolute targets from the tree's root, relative ones from the link's directory; `.`/`..` are
 * taken literally, as ostree does), up to 40 links.
 * @throws ArborError NOT_FOUND "No such file or directory: /a/b" (the path up to the missing entry),
 *   USAGE "Not a directory", "Can't open directory" (the path names a directory), "Too many levels of
 *   symbolic links"; OBJECT_NOT_FOUND / OBJECT_CORRUPT from reading the tree.
 */
export function resolveFileFollowing(
  repo: Repo,
  rootTree: string,
  path: string,
  symlinkTarget: (checksum: string) => string | null,
): { path: string; checksum: string } {
  let parts = path.split("/").filter((x) => x !== "");
  for (let links = 0; ; links++) {
    let tree = rootTree;
    for (let i = 0; i < parts.length - 1; i++) {
      const dt = repo.loadDirtree(tree);
      const d = dt.dirs.find((x) => x.name === parts[i]);
      if (d) {
        tree = d.tree;
        continue;
      }
      if (dt.files.some((x) => x.name === parts[i])) throw new ArborError("USAGE", "Not a directory");
      throw new ArborError("NOT_FOUND", `No such file or directory: /${parts.slice(0, i + 1).join("/")}`);
    }
    if (parts.length === 0) throw new ArborError("USAGE", "Can't open directory");
    const dt = repo.loadDirtree(tree);
    const name = parts[parts.length - 1]!;
    if (dt.dirs.some((x) => x.name === name)) throw new ArborError("USAGE", "Can't open directory");
    const f = dt.files.find((x) => x.name === name);
    if (!f) throw new ArborError("NOT_FOUND", `No such file or directory: /${parts.join("/")}`);
    const target = symlinkTarget(f.checksum);
    if (target === null) return { path: `/${parts.join("/")}`, checksum: f.checksum };
    if (links >= 40) throw new ArborError("USAGE", "Too many levels of symbolic links");
    const targetParts = target.split("/").filter((x) => x !== "");
    parts = target.startsWith("/") ? targetParts : [...parts.slice(0, -1), ...targetParts];
  }
}

/**
 * Like {@link lookupPath}, but failing with ostree's wording instead of returning null.
 * @throws ArborError NOT_FOUND "No such file or directory: /a/b" (up to the missing entry),
 *   USAGE "Not a directory" (a file or symlink used as a directory, or a trailing `/` after one).
 */
export function lookupPathStrict(repo: Repo, rootTree: string, rootMeta: string, path: string): TreeEntry {
  const parts = pathParts(path);
  let tree = rootTree;
  for (let i = 0; i < parts.length; i++) {
    const dt = repo.loadDirtree(tree);
    const d = dt.dirs.find((x) => x.name === parts[i]);
    if (d) {
      tree = d.tree;
      continue;
    }
    const isFile = dt.files.some((x) => x.name === parts[i]);
    if (!isFile)
      throw new ArborError("NOT_FOUND", `No such file or directory: /${parts.slice(0, i + 1).join("/")}`);
    if (i < parts.length - 1 || path.endsWith("/")) throw new ArborError("USAGE", "Not a directory");
  }
  return lookupPath(repo, rootTree, rootMeta, path)!;
}
