/**
 * Comparing a deployment's image files (everything outside `/etc` and `/var`) with its commit.
 *
 * Why not repo/diff.ts's `diffTreeAgainstDir`: a deployment is a hardlink farm of the repository's
 * objects, and drift needs that identity. A file that is the same inode as its object is what the
 * commit says, unless the object itself changed, which is *repository corruption* (every
 * deployment sharing the object sees it), not local drift; objects have mtime 0, so `--quick`
 * sees an in-place write as a changed mtime without reading data. Content mode hashes each inode
 * once under its header and compares with the object name (what `ostree fsck` does per object).
 * The walk is synchronous (metadata-heavy), reads each dirtree once, and never descends into
 * another filesystem (a booted deployment's /sysroot, /boot, /proc…).
 */
import { createHash } from "node:crypto";
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, type Stats } from "node:fs";
import { join } from "node:path";
import { contentHasher, type FileHeader, type Xattrs } from "../core/content-header.js";
import { fromSystemError } from "../errors.js";
import { native } from "../io/native.js";
import { statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";

/** What differs about a path (`missing`: the repository object a file should share is gone). */
export type ChangeKind = "type" | "content" | "mode" | "owner" | "xattrs" | "target" | "missing";

/** One finding. Paths are absolute in the deployment: `/usr/bin/x`. */
export interface DriftItem {
  path: string;
  change: "added" | "removed" | "modified";
  kinds?: ChangeKind[];
  /** For /etc: the declared layer that provides this path's default. */
  layer?: string;
}

/** Image drift of one deployment. */
export interface ImageDrift {
  items: DriftItem[];
  /** Hardlinked repository objects whose content no longer matches their name. */
  corrupt: DriftItem[];
  /** Entries compared. */
  checked: number;
}

let buf: Buffer | undefined;

/** Hash a file's data; `size` (from lstat) lets small files take one read instead of two. */
function hashInto(path: string, h: ReturnType<typeof createHash>, size = -1): string {
  const fd = openSync(path, "r");
  try {
    buf ??= Buffer.allocUnsafe(1 << 20);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      total += n;
      if (total === size && size < buf.length) break; // whole file read; skip the EOF read
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/** Extended attributes of a path, sorted (empty where unsupported). */
export function readXattrs(path: string): Xattrs {
  let names: string[];
  try {
    names = native().llistxattr(path);
  } catch {
    return [];
  }
  if (names.length === 0) return [];
  const out: Xattrs = [];
  for (const n of names.sort()) {
    const v = native().lgetxattr(path, n);
    if (v) out.push([n, new Uint8Array(v)]);
  }
  return out;
}

/** Equal xattr lists. */
export function sameXattrs(a: Xattrs, b: Xattrs): boolean {
  return a.length === b.length && a.every(([n, v], i) => n === b[i]![0] && Buffer.compare(v, b[i]![1]) === 0);
}

function typeOf(mode: number): "dir" | "file" | "symlink" | "other" {
  const t = mode & 0o170000;
  return t === 0o040000 ? "dir" : t === 0o100000 ? "file" : t === 0o120000 ? "symlink" : "other";
}

/** Options for {@link compareImage}. */
export interface CompareImageOptions {
  quick?: boolean;
  /** Top-level names not compared (default `etc`, `var`). */
  skipTop?: ReadonlySet<string>;
  signal?: AbortSignal;
}

/**
 * Compare the tree of `commit` with the deployment directory `root`.
 * @throws ArborError OBJECT_NOT_FOUND (a dirtree missing from the repo), IO
 */
export function compareImage(
  repo: Repo,
  commit: string,
  root: string,
  o: CompareImageOptions = {},
): ImageDrift {
  const skip = o.skipTop ?? new Set(["etc", "var"]);
  const out: ImageDrift = { items: [], corrupt: [], checked: 0 };
  const hashed = new Map<number, string>(); // inode → content checksum computed (content mode)
  const xattrsOn = repo.mode === "bare" || repo.mode === "bare-user";
  let rootDev: number;
  try {
    rootDev = lstatSync(root).dev;
  } catch (e) {
    throw fromSystemError(`Cannot read deployment "${root}"`, e);
  }
  const c = repo.loadCommit(commit);

  const compareFile = (path: string, abs: string, st: Stats, cs: string): void => {
    out.checked++;
    let os: Stats | null = null;
    try {
      os = lstatSync(repo.objectPath(cs, "file"));
    } catch {}
    if (!os) {
      out.corrupt.push({ path, change: "removed", kinds: ["missing"] });
      return;
    }
    if (repo.mode !== "archive" && os.dev === st.dev && os.ino === st.ino) {
      // The deployment shares the object: only a change of the object itself can differ.
      if (typeOf(st.mode) !== "file") return;
      if (o.quick) {
        if (st.mtimeMs !== 0) out.corrupt.push({ path, change: "modified", kinds: ["content"] });
        return;
      }
      let sum = hashed.get(st.ino);
      if (sum === undefined) {
        const h: FileHeader =
          repo.mode === "bare"
            ? { uid: st.uid, gid: st.gid, mode: st.mode, symlinkTarget: "", xattrs: readXattrs(abs) }
            : statFileObject(repo, cs).header;
        sum = hashInto(abs, contentHasher(h), st.size);
        hashed.set(st.ino, sum);
      }
      if (sum !== cs) out.corrupt.push({ path, change: "modified", kinds: ["content"] });
      return;
    }
    const obj = statFileObject(repo, cs);
    const h = obj.header;
    const kinds: ChangeKind[] = [];
    if (typeOf(st.mode) !== typeOf(h.mode)) {
      out.items.push({ path, change: "modified", kinds: ["type"] });
      return;
    }
    if ((st.mode & 0o7777) !== (h.mode & 0o7777) && typeOf(st.mode) !== "symlink") kinds.push("mode");
    if (st.uid !== h.uid || st.gid !== h.gid) kinds.push("owner");
    const x = xattrsOn ? readXattrs(abs) : [];
    if (xattrsOn && !sameXattrs(x, h.xattrs)) kinds.push("xattrs");
    if (typeOf(st.mode) === "symlink") {
      if (readlinkSync(abs) !== h.symlinkTarget) kinds.push("target");
    } else if (st.size !== obj.size) kinds.push("content");
    else if (!o.quick) {
      const data = hashInto(abs, contentHasher(h), st.size);
      if (data !== cs) kinds.push("content");
    }
    if (kinds.length) out.items.push({ path, change: "modified", kinds });
  };

  const walk = (tree: string, meta: string, abs: string, path: string, top: boolean): void => {
    o.signal?.throwIfAborted();
    const dt = repo.loadDirtree(tree);
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (e) {
      throw fromSystemError(`Cannot read "${abs}"`, e);
    }
    const onDisk = new Set(names);
    const seen = new Set<string>();
    const child = (n: string): string => (path === "/" ? `/${n}` : `${path}/${n}`);
    for (const f of dt.files) {
      if (top && skip.has(f.name)) continue;
      seen.add(f.name);
      const p = child(f.name);
      if (!onDisk.has(f.name)) {
        out.items.push({ path: p, change: "removed" });
        continue;
      }
      const a = join(abs, f.name);
      const st = lstatSync(a);
      if (st.isDirectory()) out.items.push({ path: p, change: "modified", kinds: ["type"] });
      else compareFile(p, a, st, f.checksum);
    }
    for (const d of dt.dirs) {
      if (top && skip.has(d.name)) continue;
      seen.add(d.name);
      const p = child(d.name);
      if (!onDisk.has(d.name)) {
        out.items.push({ path: p, change: "removed" });
        continue;
      }
      const a = join(abs, d.name);
      const st = lstatSync(a);
      out.checked++;
      if (!st.isDirectory()) {
        out.items.push({ path: p, change: "modified", kinds: ["type"] });
        continue;
      }
      if (st.dev !== rootDev) continue; // a mount point: not the deployment's content
      const m = repo.loadDirmeta(d.meta);
      const kinds: ChangeKind[] = [];
      if ((st.mode & 0o7777) !== (m.mode & 0o7777)) kinds.push("mode");
      if (st.uid !== m.uid || st.gid !== m.gid) kinds.push("owner");
      if (!o.quick && xattrsOn && !sameXattrs(readXattrs(a), m.xattrs)) kinds.push("xattrs");
      if (kinds.length) out.items.push({ path: p, change: "modified", kinds });
      walk(d.tree, d.meta, a, p, false);
    }
    for (const n of names) {
      if (seen.has(n) || (top && skip.has(n))) continue;
      out.items.push({ path: child(n), change: "added" });
    }
    void meta;
  };
  walk(c.rootTree, c.rootMeta, root, "/", true);
  return out;
}

/** SHA-256 of a file's data alone (for /etc comparisons). */
export function dataChecksum(path: string): string {
  return hashInto(path, createHash("sha256"));
}
