/**
 * The three-way /etc merge (fact sheet §7.6): carry the machine's own configuration forward.
 *
 * The merge deployment's `usr/etc` is what its image shipped, its `etc` is what the machine has
 * now; their difference (modified, removed, added — ignoring xattrs) is the local change set. The
 * new deployment's `etc` starts as a fresh copy of its own `usr/etc`, and the local change set is
 * applied on top: removed paths are deleted, modified and added paths are copied over from the old
 * `etc` (directories recursively, symlinks as symlinks, owner, mode and xattrs preserved; missing
 * parent directories created with the old `etc`'s attributes). The local version always wins, with
 * no content merge. A path that is a directory in the new defaults but not locally is an error.
 *
 * Beyond OSTree, {@link staleShadows} lists local changes that hide a default the new image
 * changed, so an admin sees which of their edits masks an update before it bites.
 */
import {
  chownSync,
  closeSync,
  copyFileSync,
  fchmodSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  type Stats,
  symlinkSync,
  unlinkSync,
  utimesSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { ArborError, errnoCode, fromSystemError, withContext } from "../errors.js";
import { native } from "../io/native.js";
import { lookupPath } from "../repo/lookup.js";
import type { Repo } from "../repo/repo.js";
import { type DirDiff, diffDirs } from "./diff-dirs.js";

/** Options for {@link mergeEtc}. */
export interface EtcMergeOptions {
  /** Do not copy xattrs (`OSTREE_SYSROOT_DEBUG=no-xattrs`). */
  noXattrs?: boolean;
}

function copyXattrs(src: string, dest: string, noXattrs: boolean | undefined): void {
  if (noXattrs) return;
  const n = native();
  for (const name of n.llistxattr(src)) {
    const v = n.lgetxattr(src, name);
    if (v !== null) n.lsetxattr(dest, name, v);
  }
}

function setDirAttrs(src: string, dest: string, o: EtcMergeOptions): void {
  copyXattrs(src, dest, o.noXattrs);
  const st = lstatSync(src);
  chownSync(dest, st.uid, st.gid);
  const fd = openSync(dest, "r");
  try {
    fchmodSync(fd, st.mode & 0o7777);
  } finally {
    closeSync(fd);
  }
}

/** Copy a file or symlink with owner, mode, xattrs and times (as glnx_file_copy_at). */
function copyFileEntry(src: string, st: Stats, dest: string, o: EtcMergeOptions): void {
  try {
    unlinkSync(dest);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dest);
    copyXattrs(src, dest, o.noXattrs);
    lchownSync(dest, st.uid, st.gid);
    return;
  }
  copyFileSync(src, dest);
  chownSync(dest, st.uid, st.gid);
  const fd = openSync(dest, "r");
  try {
    fchmodSync(fd, st.mode & 0o7777);
  } finally {
    closeSync(fd);
  }
  copyXattrs(src, dest, o.noXattrs);
  utimesSync(dest, st.atime, st.mtime);
}

function copyDirRecurse(src: string, dest: string, o: EtcMergeOptions): void {
  try {
    mkdirSync(dest, { mode: 0o700 });
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw e;
  }
  setDirAttrs(src, dest, o);
  for (const name of readdirSync(src)) {
    const s = join(src, name);
    const st = lstatSync(s);
    if (st.isDirectory()) copyDirRecurse(s, join(dest, name), o);
    else copyFileEntry(s, st, join(dest, name), o);
  }
}

/** Create `rel` (and missing parents) in `newEtc`, with the attributes of `modEtc/rel`. */
function ensureDirFromTemplate(modEtc: string, newEtc: string, rel: string, o: EtcMergeOptions): void {
  const target = join(newEtc, rel);
  try {
    mkdirSync(target, { mode: 0o700 });
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOENT" && dirname(rel) !== ".") {
      ensureDirFromTemplate(modEtc, newEtc, dirname(rel), o);
      mkdirSync(target, { mode: 0o700 });
    } else if (c !== "EEXIST") throw e;
  }
  if (!lstatSync(target).isDirectory()) throw new ArborError("ETC_MERGE", `"${rel}" is not a directory`);
  setDirAttrs(join(modEtc, rel), target, o);
}

function copyModified(modEtc: string, newEtc: string, rel: string, o: EtcMergeOptions): void {
  let st: Stats;
  try {
    st = lstatSync(join(modEtc, rel));
  } catch (e) {
    throw fromSystemError("Reading modified config file", e);
  }
  if (rel.includes("/")) ensureDirFromTemplate(modEtc, newEtc, dirname(rel), o);
  let cur: Stats | null = null;
  try {
    cur = lstatSync(join(newEtc, rel));
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
  if (cur?.isDirectory()) {
    if (!st.isDirectory()) {
      throw new ArborError(
        "ETC_MERGE",
        `Modified config file newly defaults to directory '${rel}', cannot merge`,
      );
    }
    return; // already handled by the recursive copy of a parent
  }
  if (cur) unlinkSync(join(newEtc, rel));
  if (st.isDirectory()) copyDirRecurse(join(modEtc, rel), join(newEtc, rel), o);
  else if (st.isSymbolicLink() || st.isFile()) copyFileEntry(join(modEtc, rel), st, join(newEtc, rel), o);
  // other file types (sockets, fifos) are skipped, as ostree does
}

/**
 * Apply the local changes of the deployment at `mergeRoot` to the new deployment at `newRoot`.
 * @returns the change set that was applied.
 * @throws ArborError (prefixed "During /etc merge") ETC_MERGE, IO
 */
export function mergeEtc(mergeRoot: string, newRoot: string, o: EtcMergeOptions = {}): DirDiff {
  try {
    let diff: DirDiff;
    try {
      diff = diffDirs(join(mergeRoot, "usr/etc"), join(mergeRoot, "etc"));
    } catch (e) {
      throw withContext("While computing configuration diff", e);
    }
    const modEtc = join(mergeRoot, "etc");
    const newEtc = join(newRoot, "etc");
    for (const rel of diff.removed) rmSync(join(newEtc, rel), { recursive: true, force: true });
    for (const rel of diff.modified) copyModified(modEtc, newEtc, rel, o);
    for (const rel of diff.added) copyModified(modEtc, newEtc, rel, o);
    return diff;
  } catch (e) {
    throw e instanceof ArborError
      ? withContext("During /etc merge", e)
      : fromSystemError("During /etc merge", e);
  }
}

/** A local /etc change that hides a default the target image changed. */
export interface StaleShadow {
  /** Path relative to /etc. */
  path: string;
  /** The local change: modified, added or deleted. */
  local: "M" | "A" | "D";
}

function entryKey(repo: Repo, commit: string, rel: string): string | null {
  const c = repo.loadCommit(commit);
  const e = lookupPath(repo, c.rootTree, c.rootMeta, `usr/etc/${rel}`);
  if (!e) return null;
  return e.kind === "file" ? `f:${e.checksum}` : `d:${e.meta}`;
}

/**
 * Local changes (from `diff`, the deployment's config diff) to paths whose image default differs
 * between commit `from` (the deployment's) and commit `to` (the image it would move to).
 * @throws ArborError OBJECT_NOT_FOUND if either commit is not in `repo`
 */
export function staleShadows(repo: Repo, diff: DirDiff, from: string, to: string): StaleShadow[] {
  if (from === to) return [];
  const out: StaleShadow[] = [];
  const check = (rel: string, local: StaleShadow["local"]): void => {
    if (entryKey(repo, from, rel) !== entryKey(repo, to, rel)) out.push({ path: rel, local });
  };
  for (const rel of diff.modified) check(rel, "M");
  for (const rel of diff.removed) check(rel, "D");
  for (const rel of diff.added) check(rel, "A");
  return out;
}
