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
 * Speed: dirtrees are read once, dirmetas once per distinct checksum, and each directory is one
 * call into the native addon (scan-dir.ts: the names on disk, then an lstat of each expected
 * entry relative to the directory and of each file's object), so a file costs two lstats and no
 * JavaScript object in `--quick`. (Tried before: asynchronous lstats on libuv's pool, whose
 * per-call callbacks cost more CPU than they saved, and batches of Node lstats on a second thread,
 * whose Stats objects and messages cost more than the native scan's whole walk.)
 * The walk never descends into another filesystem (a booted deployment's /sysroot, /boot…).
 */
import { lstatSync, readlinkSync, type Stats } from "node:fs";
import { contentHasher } from "../core/content-header.js";
import type { Dirmeta, DirtreeDir } from "../core/metadata.js";
import { errnoCode, fromSystemError } from "../errors.js";
import { statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";
import { hashInto, ObjectVerifier, readXattrs, sameXattrs } from "./drift-files.js";
import { DirScanner, SCAN_FIELDS } from "./scan-dir.js";

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
  const objects = { prefix: `${repo.path}/objects/`, suffix: shared ? ".file" : ".filez" };
  const objectPath = (cs: string) => `${objects.prefix}${cs.slice(0, 2)}/${cs.slice(2)}${objects.suffix}`;
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

  /** A file of the dirtree, scanned into `r` at `i` (see scan-dir.ts): decide. */
  const compareFile = (path: string, abs: string, cs: string, r: Float64Array, i: number): void => {
    if (r[i] === -2 || r[i + 6] === -2) {
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
    if (r[i + 6] === -1) {
      out.corrupt.push({ path, change: "removed", kinds: ["missing"] });
      return;
    }
    if (shared && r[i + 6] === r[i] && r[i + 7] === r[i + 1]) {
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

  /** A directory of the dirtree, scanned into `r` at `i`: compare it, then walk it. */
  const compareDir = (d: DirtreeDir, path: string, abs: string, r: Float64Array, i: number): void => {
    let dev = r[i]!;
    let mode = r[i + 2]!;
    let uid = r[i + 4]!;
    let gid = r[i + 5]!;
    if (dev === -2) {
      // an unusual error: stat again here, where it is reported with its cause
      const st = lstatMaybe(abs);
      if (st) [dev, mode, uid, gid] = [st.dev, st.mode, st.uid, st.gid];
      else dev = -1;
    }
    if (dev === -1) {
      out.items.push({ path, change: "removed" });
      return;
    }
    out.checked++;
    if (typeOf(mode) !== "dir") {
      out.items.push({ path, change: "modified", kinds: ["type"] });
      return;
    }
    if (dev !== rootDev) return; // a mount point: not the deployment's content
    const m = dirmeta(d.meta);
    const kinds: ChangeKind[] = [];
    if ((mode & 0o7777) !== (m.mode & 0o7777)) kinds.push("mode");
    if (uid !== m.uid || gid !== m.gid) kinds.push("owner");
    if (!o.quick && xattrsOn && !sameXattrs(readXattrs(abs), m.xattrs)) kinds.push("xattrs");
    if (kinds.length) out.items.push({ path, change: "modified", kinds });
    walk(d.tree, abs, path, false);
  };

  const walk = (tree: string, abs: string, path: string, top: boolean): void => {
    o.signal?.throwIfAborted();
    const dt = repo.loadDirtree(tree);
    const files = top ? dt.files.filter((f) => !skip.has(f.name)) : dt.files;
    const dirs = top ? dt.dirs.filter((d) => !skip.has(d.name)) : dt.dirs;
    const r = new Float64Array((files.length + dirs.length) * SCAN_FIELDS);
    let added: string[];
    try {
      added = scanner.scan(abs, { files, dirs }, r);
    } catch (e) {
      throw fromSystemError(`Cannot read "${abs}"`, e);
    }
    const child = (n: string): string => (path === "/" ? `/${n}` : `${path}/${n}`);
    for (let k = 0; k < files.length; k++) {
      const f = files[k]!;
      const i = k * SCAN_FIELDS;
      // the common case of --quick, decided without building the file's paths: a regular file
      // that is still its object, which still has the mtime 0 objects keep
      if (o.quick && shared && r[i]! >= 0 && r[i + 6] === r[i] && r[i + 7] === r[i + 1]) {
        if (r[i + 3] === 0 && typeOf(r[i + 2]!) === "file") {
          out.checked++;
          continue;
        }
      }
      compareFile(child(f.name), `${abs}/${f.name}`, f.checksum, r, i);
    }
    for (let k = 0; k < dirs.length; k++) {
      const d = dirs[k]!;
      compareDir(d, child(d.name), `${abs}/${d.name}`, r, (files.length + k) * SCAN_FIELDS);
    }
    for (const n of added) {
      if (!(top && skip.has(n))) out.items.push({ path: child(n), change: "added" });
    }
  };

  const scanner = new DirScanner(objects);
  try {
    walk(c.rootTree, root, "/", true);
    scanner.close();
    await verifier?.verify((cs) => {
      for (const path of sharers.get(cs) ?? [])
        out.corrupt.push({ path, change: "modified", kinds: ["content"] });
    }, o.signal);
  } catch (e) {
    scanner.close();
    await verifier?.close();
    throw e;
  }
  out.items.sort(byPath);
  out.corrupt.sort(byPath);
  return out;
}
