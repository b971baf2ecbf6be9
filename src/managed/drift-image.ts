/**
 * Comparing a deployment's image files (everything outside `/etc` and `/var`) with its commit.
 *
 * Why not repo/diff.ts's `diffTreeAgainstDir`: a deployment is a hardlink farm of the repository's
 * objects, and drift needs that identity. A file that is the same inode as its object (same
 * dev+ino) is what the commit says without reading it, unless the object itself changed, which
 * is *repository corruption* (every deployment sharing the object sees it), not local drift.
 * `--quick` sees such an in-place write as a changed mtime (objects keep mtime 0); content mode
 * verifies each shared object once, as `ostree fsck` does, on worker threads (both cores) that
 * start during the walk. A file that is *not* its object is compared field by field, and by data in
 * content mode.
 *
 * Speed: dirtrees are read once, dirmetas once per distinct checksum, directories by name only
 * (types come from the lstats), and each file costs two lstats (the deployed file, its object) and nothing else
 * in `--quick`; those run in batches on a second thread (stat-pairs.ts) while the main thread
 * walks. (Asynchronous lstats on libuv's pool were tried: per-call callbacks cost more CPU than
 * they saved.)
 * The walk never descends into another filesystem (a booted deployment's /sysroot, /boot…).
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { contentHasher } from "../core/content-header.js";
import type { Dirmeta } from "../core/metadata.js";
import { errnoCode, fromSystemError } from "../errors.js";
import { statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";
import { hashInto, ObjectVerifier, readXattrs, sameXattrs } from "./drift-files.js";
import { FIELDS, StatPairs } from "./stat-pairs.js";

export { dataChecksum, readXattrs, sameXattrs } from "./drift-files.js";

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
  /** Sorted by path. */
  items: DriftItem[];
  /** Hardlinked repository objects whose content no longer matches their name, sorted by path. */
  corrupt: DriftItem[];
  /** Entries compared. */
  checked: number;
}

/** Options for {@link compareImage}. */
export interface CompareImageOptions {
  quick?: boolean;
  /** Top-level names not compared (default `etc`, `var`). */
  skipTop?: ReadonlySet<string>;
  signal?: AbortSignal;
}

const S_IFMT = 0o170000;
const typeOf = (mode: number): "dir" | "file" | "symlink" | "other" => {
  const t = mode & S_IFMT;
  return t === 0o040000 ? "dir" : t === 0o100000 ? "file" : t === 0o120000 ? "symlink" : "other";
};
/** A file of the image to compare. */
interface FileTag {
  path: string;
  abs: string;
  cs: string;
}

const byPath = (a: DriftItem, b: DriftItem): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

/**
 * Compare the tree of `commit` with the deployment directory `root`.
 * @throws ArborError OBJECT_NOT_FOUND (a dirtree missing from the repo), IO, ABORTED
 */
export async function compareImage(
  repo: Repo,
  commit: string,
  root: string,
  o: CompareImageOptions = {},
): Promise<ImageDrift> {
  const skip = o.skipTop ?? new Set(["etc", "var"]);
  const out: ImageDrift = { items: [], corrupt: [], checked: 0 };
  const xattrsOn = repo.mode === "bare" || repo.mode === "bare-user";
  const shared = repo.mode !== "archive"; // deployments of archive repos are copies
  const objects = `${repo.path}/objects/`;
  const objectPath = (cs: string) =>
    `${objects}${cs.slice(0, 2)}/${cs.slice(2)}.${shared ? "file" : "filez"}`;
  let rootDev: number;
  try {
    rootDev = lstatSync(root).dev;
  } catch (e) {
    throw fromSystemError(`Cannot read deployment "${root}"`, e);
  }
  const c = repo.loadCommit(commit);
  const verifier = o.quick ? null : new ObjectVerifier(repo);
  const sharers = new Map<string, string[]>(); // object → paths sharing it (content mode)
  const dirmetas = new Map<string, Dirmeta>();
  const dirmeta = (cs: string): Dirmeta => {
    let m = dirmetas.get(cs);
    if (!m) {
      m = repo.loadDirmeta(cs);
      dirmetas.set(cs, m);
    }
    return m;
  };

  /** A file that is not its object: compare field by field (and by data in content mode). */
  const compareCopy = (path: string, abs: string, st: Stats, cs: string): void => {
    const obj = statFileObject(repo, cs);
    const h = obj.header;
    if (typeOf(st.mode) !== typeOf(h.mode)) {
      out.items.push({ path, change: "modified", kinds: ["type"] });
      return;
    }
    const kinds: ChangeKind[] = [];
    const link = typeOf(st.mode) === "symlink";
    if ((st.mode & 0o7777) !== (h.mode & 0o7777) && !link) kinds.push("mode");
    if (st.uid !== h.uid || st.gid !== h.gid) kinds.push("owner");
    if (xattrsOn && !sameXattrs(readXattrs(abs), h.xattrs)) kinds.push("xattrs");
    if (link) {
      if (readlinkSync(abs) !== h.symlinkTarget) kinds.push("target");
    } else if (st.size !== obj.size) kinds.push("content");
    else if (!o.quick && hashInto(abs, contentHasher(h), st.size) !== cs) kinds.push("content");
    if (kinds.length) out.items.push({ path, change: "modified", kinds });
  };

  const lstatMaybe = (p: string): Stats | null => {
    try {
      return lstatSync(p, { throwIfNoEntry: false }) ?? null;
    } catch (e) {
      if (errnoCode(e) === "ENOTDIR") return null;
      throw fromSystemError(`Cannot stat "${p}"`, e);
    }
  };

  /** Both lstats of one file are in (`r` at `i`, see stat-pairs.ts): decide. */
  const compareFile = (f: FileTag, r: Float64Array, i: number): void => {
    const { path, abs, cs } = f;
    if (r[i] === -2 || r[i + 4] === -2) {
      // an unusual error: stat again here, where it is reported with its cause
      const st = lstatMaybe(abs);
      lstatMaybe(objectPath(cs));
      if (st) compareCopy(path, abs, st, cs);
      else out.items.push({ path, change: "removed" });
      return;
    }
    if (r[i] === -1) {
      out.items.push({ path, change: "removed" });
      return;
    }
    out.checked++;
    const mode = r[i + 2]!;
    if (typeOf(mode) === "dir") {
      out.items.push({ path, change: "modified", kinds: ["type"] });
      return;
    }
    if (r[i + 4] === -1) {
      out.corrupt.push({ path, change: "removed", kinds: ["missing"] });
      return;
    }
    if (shared && r[i + 4] === r[i] && r[i + 5] === r[i + 1]) {
      // The deployment shares the object: only a change of the object itself can differ.
      if (typeOf(mode) !== "file") return;
      if (o.quick) {
        if (r[i + 3] !== 0) out.corrupt.push({ path, change: "modified", kinds: ["content"] });
        return;
      }
      const paths = sharers.get(cs);
      if (paths) paths.push(path);
      else {
        sharers.set(cs, [path]);
        verifier!.add(cs);
      }
      return;
    }
    const st = lstatMaybe(abs);
    if (st) compareCopy(path, abs, st, cs);
    else out.items.push({ path, change: "removed" });
  };
  const stats = new StatPairs<FileTag>((tags, r) => {
    for (let k = 0; k < tags.length; k++) compareFile(tags[k]!, r, k * FIELDS);
  });

  const walk = async (tree: string, abs: string, path: string, top: boolean): Promise<void> => {
    o.signal?.throwIfAborted();
    const dt = repo.loadDirtree(tree);
    let onDisk: Set<string>;
    try {
      // names only: a file's type comes with its lstat, a directory's from its own lstat below
      onDisk = new Set(readdirSync(abs));
    } catch (e) {
      throw fromSystemError(`Cannot read "${abs}"`, e);
    }
    const child = (n: string): string => (path === "/" ? `/${n}` : `${path}/${n}`);
    for (const f of dt.files) {
      if (top && skip.has(f.name)) continue;
      if (!onDisk.delete(f.name)) out.items.push({ path: child(f.name), change: "removed" });
      else {
        const a = `${abs}/${f.name}`;
        stats.add({ path: child(f.name), abs: a, cs: f.checksum }, a, objectPath(f.checksum));
      }
    }
    for (const d of dt.dirs) {
      if (top && skip.has(d.name)) continue;
      const p = child(d.name);
      const a = `${abs}/${d.name}`;
      const st = onDisk.delete(d.name) ? lstatMaybe(a) : null;
      if (!st) {
        out.items.push({ path: p, change: "removed" });
        continue;
      }
      out.checked++;
      if (!st.isDirectory()) {
        out.items.push({ path: p, change: "modified", kinds: ["type"] });
        continue;
      }
      if (st.dev !== rootDev) continue; // a mount point: not the deployment's content
      const m = dirmeta(d.meta);
      const kinds: ChangeKind[] = [];
      if ((st.mode & 0o7777) !== (m.mode & 0o7777)) kinds.push("mode");
      if (st.uid !== m.uid || st.gid !== m.gid) kinds.push("owner");
      if (!o.quick && xattrsOn && !sameXattrs(readXattrs(a), m.xattrs)) kinds.push("xattrs");
      if (kinds.length) out.items.push({ path: p, change: "modified", kinds });
      await walk(d.tree, a, p, false);
    }
    for (const n of onDisk) {
      if (!(top && skip.has(n))) out.items.push({ path: child(n), change: "added" });
    }
  };

  try {
    await walk(c.rootTree, root, "/", true);
    await stats.drain(o.signal);
    await verifier?.verify((cs) => {
      for (const path of sharers.get(cs) ?? [])
        out.corrupt.push({ path, change: "modified", kinds: ["content"] });
    }, o.signal);
  } catch (e) {
    stats.close();
    await verifier?.close();
    throw e;
  }
  out.items.sort(byPath);
  out.corrupt.sort(byPath);
  return out;
}
