/**
 * Refs (fact sheet §3.5): `refs/heads/NAME`, `refs/remotes/REMOTE/NAME`, `refs/mirrors/COLLECTION/NAME`,
 * each a file holding 64 hex characters and a newline; aliases are relative symlinks in refs/heads.
 * Revision syntax: checksum, unique checksum prefix, REF, REMOTE:REF, REV^ (parent, repeatable).
 */

import { dirname, join, relative } from "node:path";
import { isChecksum, validateChecksum, validateRef, validateRemoteName } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { fs } from "../io/node-builtins.js";
import type { Repo } from "./repo.js";

/** Path of a ref file. `remote` may be a remote name, or `{mirror: collectionId}`. */
export function refPath(repo: Repo, ref: string, remote: string | null = null): string {
  validateRef(ref);
  if (remote !== null) validateRemoteName(remote);
  return remote === null ? join(repo.path, "refs/heads", ref) : join(repo.path, "refs/remotes", remote, ref);
}

/** Read one ref file; null if absent. @throws ArborError OBJECT_CORRUPT if it holds no checksum. */
export function readRefFile(path: string, name: string): string | null {
  let text: string;
  try {
    text = fs.readFileSync(path, "utf8");
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOENT" || c === "ENOTDIR" || c === "EISDIR") return null;
    throw fromSystemError(`Cannot read ref "${name}"`, e);
  }
  const cs = text.trim();
  if (!isChecksum(cs)) throw new ArborError("BAD_REF", `Ref "${name}" does not hold a valid checksum`);
  return cs;
}

/** The commit a ref points to, or null. */
export function readRef(repo: Repo, ref: string, remote: string | null = null): string | null {
  return readRefFile(refPath(repo, ref, remote), remote ? `${remote}:${ref}` : ref);
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Point a ref at a commit (null deletes it). Atomic and durable: temp file, fsync, rename,
 * fsync of the directory. Use Transaction.setRef when the commit was written in a transaction.
 * As ostree, an empty directory in the ref's place is replaced; one holding refs is a conflict.
 * @throws ArborError BAD_REF, EXISTS (a path component is a ref, or refs exist below it), IO
 */
export function writeRefFile(
  repo: Repo,
  ref: string,
  checksum: string | null,
  remote: string | null = null,
): void {
  const p = refPath(repo, ref, remote);
  const top = remote === null ? join(repo.path, "refs/heads") : join(repo.path, "refs/remotes", remote);
  writeRefAt(top, p, remote ? `${remote}:${ref}` : ref, checksum);
}

/**
 * Set or delete a collection–ref: under refs/heads when `collectionId` is the repository's own,
 * else under refs/mirrors/COLLECTION/ (as `ostree refs --collections --create=COLLECTION:REF`).
 * @throws ArborError BAD_NAME (collection ID), BAD_REF, EXISTS, IO
 */
export function writeCollectionRef(
  repo: Repo,
  collectionId: string,
  ref: string,
  checksum: string | null,
): void {
  const top = collectionRefTop(repo, collectionId, ref);
  if (top === null) {
    writeRefFile(repo, ref, checksum);
    return;
  }
  writeRefAt(top, join(top, ref), `(${collectionId}, ${ref})`, checksum);
}

/** refs/mirrors/COLLECTION, or null for the repository's own collection (refs/heads). */
function collectionRefTop(repo: Repo, collectionId: string, ref: string): string | null {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(collectionId) || collectionId.length > 255)
    throw new ArborError("BAD_NAME", `Invalid collection ID ${collectionId}`);
  validateRef(ref);
  return collectionId === repo.collectionId ? null : join(repo.path, "refs/mirrors", collectionId);
}

/**
 * The commit a collection–ref points to (where {@link writeCollectionRef} keeps it), or null.
 * @throws ArborError BAD_NAME (collection ID), BAD_REF
 */
export function readCollectionRef(repo: Repo, collectionId: string, ref: string): string | null {
  const top = collectionRefTop(repo, collectionId, ref);
  return top === null ? readRef(repo, ref) : readRefFile(join(top, ref), `(${collectionId}, ${ref})`);
}

/** Refs (files or symlinks) anywhere below `dir`. */
function refsBelow(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...refsBelow(join(dir, e.name), r));
    else out.push(r);
  }
  return out;
}

function writeRefAt(top: string, p: string, name: string, checksum: string | null): void {
  if (checksum === null) {
    try {
      fs.unlinkSync(p);
    } catch (e) {
      const c = errnoCode(e);
      if (c !== "ENOENT" && c !== "ENOTDIR") throw fromSystemError(`Cannot delete ref "${name}"`, e);
      return;
    }
    // remove now-empty parent directories up to the refs root (refs/heads, refs/remotes/R…)
    for (let d = dirname(p); d.startsWith(`${top}/`); d = dirname(d)) {
      try {
        fs.rmdirSync(d);
      } catch {
        break;
      }
    }
    return;
  }
  validateChecksum(checksum);
  const base = p.slice(p.lastIndexOf("/") + 1);
  if (isChecksum(base)) throw new ArborError("BAD_REF", `Rev name '${name}' looks like a checksum`);
  const dir = dirname(p);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    if (errnoCode(e) === "ENOTDIR" || errnoCode(e) === "EEXIST") {
      throw new ArborError("EXISTS", `Cannot create ref "${name}": a parent of it is itself a ref`);
    }
    throw fromSystemError(`Cannot create ref "${name}"`, e);
  }
  let st: import("node:fs").Stats | null = null;
  try {
    st = fs.lstatSync(p);
  } catch {}
  if (st?.isDirectory()) {
    const below = refsBelow(p);
    if (below.length > 0) {
      throw new ArborError(
        "EXISTS",
        `Conflict: ${below[0]} exists under ${name.slice(name.indexOf(":") + 1)} when attempting write`,
      );
    }
    fs.rmSync(p, { recursive: true, force: true });
  }
  const tmp = join(dir, `.tmp-${process.pid}-${Date.now()}-${base}`);
  try {
    const fd = fs.openSync(tmp, "w", 0o644);
    try {
      fs.writeSync(fd, `${checksum}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, p);
    fsyncPath(dir);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {}
    throw fromSystemError(`Cannot write ref "${name}"`, e);
  }
}

export interface RefEntry {
  /** `REF` for local refs, `REMOTE:REF` for remote refs, `(COLLECTION, REF)` shown as `COLLECTION:REF` for mirrors. */
  name: string;
  ref: string;
  remote: string | null;
  checksum: string;
  /** For aliases: the ref this one points to. */
  aliasOf?: string;
}

function walkRefs(root: string, prefix: string, out: Array<{ ref: string; path: string }>): void {
  let entries: import("node:fs").Dirent[];
  try {
    entries = fs.readdirSync(join(root, prefix), { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return;
    throw fromSystemError(`Cannot list refs in "${root}"`, e);
  }
  for (const e of entries) {
    if (e.name.startsWith(".")) continue; // temp files
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) walkRefs(root, rel, out);
    else out.push({ ref: rel, path: join(root, rel) });
  }
}

/**
 * List refs. `kind`: "heads" (local), "remotes", "mirrors", or "all" (heads then remotes).
 * Entries are sorted by name.
 */
export function listRefs(
  repo: Repo,
  opts: { kind?: "heads" | "remotes" | "mirrors" | "all"; remote?: string } = {},
): RefEntry[] {
  const kind = opts.kind ?? "all";
  const out: RefEntry[] = [];
  if (kind === "heads" || kind === "all") {
    const found: Array<{ ref: string; path: string }> = [];
    const root = join(repo.path, "refs/heads");
    walkRefs(root, "", found);
    for (const f of found) {
      const cs = readRefFile(f.path, f.ref);
      if (!cs) continue;
      let aliasOf: string | undefined;
      try {
        if (fs.lstatSync(f.path).isSymbolicLink()) {
          aliasOf = relative(root, join(dirname(f.path), fs.readlinkSync(f.path)));
        }
      } catch {}
      out.push({ name: f.ref, ref: f.ref, remote: null, checksum: cs, ...(aliasOf ? { aliasOf } : {}) });
    }
  }
  if (kind === "remotes" || kind === "all") {
    const base = join(repo.path, "refs/remotes");
    let remotes: string[] = [];
    try {
      remotes = opts.remote ? [opts.remote] : fs.readdirSync(base);
    } catch {}
    for (const r of remotes) {
      const found: Array<{ ref: string; path: string }> = [];
      walkRefs(join(base, r), "", found);
      for (const f of found) {
        const cs = readRefFile(f.path, `${r}:${f.ref}`);
        if (cs) out.push({ name: `${r}:${f.ref}`, ref: f.ref, remote: r, checksum: cs });
      }
    }
  }
  if (kind === "mirrors") {
    const base = join(repo.path, "refs/mirrors");
    let cols: string[] = [];
    try {
      cols = fs.readdirSync(base);
    } catch {}
    for (const c of cols) {
      const found: Array<{ ref: string; path: string }> = [];
      walkRefs(join(base, c), "", found);
      for (const f of found) {
        const cs = readRefFile(f.path, f.ref);
        if (cs) out.push({ name: `${c}:${f.ref}`, ref: f.ref, remote: c, checksum: cs });
      }
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Find commits whose checksum starts with `prefix` (hex, shorter than 64). */
export function findCommitsByPrefix(repo: Repo, prefix: string): string[] {
  const out: string[] = [];
  if (prefix.length === 0) return out;
  const dirs =
    prefix.length >= 2
      ? [prefix.slice(0, 2)]
      : Array.from({ length: 16 }, (_, i) => `${prefix}${i.toString(16)}`);
  const rest = prefix.length >= 2 ? prefix.slice(2) : "";
  for (const d of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(join(repo.path, "objects", d));
    } catch {
      continue;
    }
    for (const n of names)
      if (n.endsWith(".commit") && n.startsWith(rest)) out.push(d + n.slice(0, -".commit".length));
  }
  return out;
}

/** Every commit object stored in the repository (loose objects), unsorted. */
export function listCommitObjects(repo: Repo): string[] {
  const out: string[] = [];
  for (let i = 0; i < 256; i++) out.push(...findCommitsByPrefix(repo, i.toString(16).padStart(2, "0")));
  return out;
}

/**
 * Resolve a revision to a commit checksum (fact sheet §3.5): full checksum, unique prefix of a
 * stored commit, `REV^…` parents, local ref, `REMOTE:REF`, then (unless `fallbackRemote` is false, as
 * ostree_repo_resolve_rev_ext does) refs/remotes (`R/REF` and any `*\/REF`).
 * @throws ArborError NOT_FOUND (unless allowNoent), BAD_REF, USAGE for an ambiguous prefix.
 */
export function resolveRev(
  repo: Repo,
  rev: string,
  opts: { allowNoent?: boolean; fallbackRemote?: boolean } = {},
): string | null {
  if (rev.endsWith("^")) {
    const base = resolveRev(repo, rev.slice(0, -1), { allowNoent: false })!;
    const c = repo.loadCommit(base);
    if (!c.parent) throw new ArborError("NOT_FOUND", `Commit ${base} has no parent`);
    return c.parent;
  }
  if (isChecksum(rev)) return rev;
  if (/^[0-9a-f]{1,63}$/.test(rev)) {
    const hits = findCommitsByPrefix(repo, rev);
    if (hits.length > 1) throw new ArborError("USAGE", `Refspec ${rev} not unique`);
    if (hits.length === 1) return hits[0]!;
  }
  const colon = rev.indexOf(":");
  if (colon >= 0) {
    const remote = rev.slice(0, colon);
    const ref = rev.slice(colon + 1);
    validateRemoteName(remote);
    validateRef(ref);
    const cs = readRef(repo, ref, remote);
    if (cs) return cs;
    if (repo.parent) return resolveRev(repo.parent, rev, opts); // core.parent
    if (opts.allowNoent) return null;
    throw new ArborError("NOT_FOUND", `Refspec '${rev}' not found`);
  }
  validateRef(rev);
  const local = readRef(repo, rev);
  if (local) return local;
  if (opts.fallbackRemote === false) {
    if (repo.parent) return resolveRev(repo.parent, rev, opts);
    if (opts.allowNoent) return null;
    throw new ArborError("NOT_FOUND", `Refspec '${rev}' not found`);
  }
  const remoteDir = join(repo.path, "refs/remotes");
  const direct = readRefFile(join(remoteDir, rev), rev);
  if (direct) return direct;
  let remotes: string[] = [];
  try {
    remotes = fs.readdirSync(remoteDir).sort();
  } catch {}
  for (const r of remotes) {
    const cs = readRefFile(join(remoteDir, r, rev), `${r}:${rev}`);
    if (cs) return cs;
  }
  if (repo.parent) return resolveRev(repo.parent, rev, opts);
  if (opts.allowNoent) return null;
  throw new ArborError("NOT_FOUND", `Refspec '${rev}' not found`);
}
