/**
 * Listing refs the way `ostree refs` does, order included.
 *
 * OSTree collects refs into a GHashTable while walking `refs/heads`, `refs/remotes/*` and
 * `refs/mirrors/*` depth-first in readdir order, and prints them in hash-table order. Scripts
 * (and OSTree's own tests) see that order, so we reproduce it: entries are gathered in the same
 * walk order ({@link readdirOrdered}) and then arranged by {@link ghashOrder}.
 *
 * Two listings exist, as in ostree:
 * - {@link listRefsOstree}: refspecs (`REF`, `REMOTE:REF`), optionally under a prefix;
 * - {@link listCollectionRefs}: (collection ID, ref) pairs from the repo's own collection,
 *   `refs/mirrors/COLLECTION/` and remotes that have a `collection-id` configured.
 * Names that are not valid ref fragments (`.rsync_info`, `.spooky`) are skipped.
 */
import { join } from "node:path";
import { isRef, isRefFragment } from "../core/validate.js";
import { ArborError, errnoCode } from "../errors.js";
import { ghashOrder, gStrHash } from "../gvariant/ghash-order.js";
import { fs } from "../io/node-builtins.js";
import { findRemote } from "./remotes.js";
import type { Repo } from "./repo.js";

/** One listed ref: `key` is what ostree prints; `value` is the checksum (or alias target). */
export interface ListedRef {
  key: string;
  value: string;
}

/** One listed collection–ref. */
export interface ListedCollectionRef {
  collectionId: string;
  ref: string;
  checksum: string;
}

/** ostree's collection ID rule (a D-Bus interface name): `a.b`, elements `[A-Za-z_][A-Za-z0-9_]*`. */
export function isCollectionId(s: string): boolean {
  return s.length <= 255 && /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(s);
}

/** The C library's wording of a system error ("No such file or directory"). */
export function strerror(e: unknown): string {
  const m = e instanceof Error ? /^[A-Z0-9]+: ([^,]+)/.exec(e.message) : null;
  const text = m?.[1] ?? (e instanceof Error ? e.message : String(e));
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function listingError(what: string, e: unknown): ArborError {
  const code = errnoCode(e) === "ENOENT" ? "NOT_FOUND" : "IO";
  return new ArborError(code, `Listing refs: ${what}: ${strerror(e)}`, { cause: e });
}

type Kind = "dir" | "file" | "link" | "other";

/**
 * Directory entries in readdir order (not sorted: `fs.readdirSync` sorts), with their types.
 * @throws the system error from opening the directory.
 */
export function readdirOrdered(path: string): Array<{ name: string; kind: Kind }> {
  const out: Array<{ name: string; kind: Kind }> = [];
  const dir = fs.opendirSync(path);
  try {
    for (let d = dir.readSync(); d !== null; d = dir.readSync()) {
      let kind: Kind = d.isDirectory() ? "dir" : d.isFile() ? "file" : d.isSymbolicLink() ? "link" : "other";
      if (kind === "other" && !d.isFIFO() && !d.isSocket() && !d.isCharacterDevice() && !d.isBlockDevice()) {
        const st = fs.lstatSync(join(path, d.name)); // DT_UNKNOWN: ask
        kind = st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isSymbolicLink() ? "link" : "other";
      }
      out.push({ name: d.name, kind });
    }
  } finally {
    dir.closeSync();
  }
  return out;
}

function readRefContents(abs: string, name: string): string {
  try {
    return fs.readFileSync(abs, "utf8").replace(/\s+$/, "");
  } catch (e) {
    throw listingError(`Reading ref ${name}`, e);
  }
}

interface Walk {
  aliasesOnly: boolean;
  /** Called for each ref file found: `path` relative to the walk's base, with the base prefix. */
  add(path: string, abs: string, kind: Kind): void;
}

function enumerate(w: Walk, absDir: string, shownDir: string, basePath: string): void {
  let entries: Array<{ name: string; kind: Kind }>;
  try {
    entries = readdirOrdered(absDir);
  } catch (e) {
    throw listingError(`opendir(${shownDir})`, e);
  }
  for (const ent of entries) {
    if (!isRefFragment(ent.name)) continue;
    const path = basePath + ent.name;
    const abs = join(absDir, ent.name);
    if (ent.kind === "dir") enumerate(w, abs, ent.name, `${path}/`);
    else if (ent.kind === "link" || (ent.kind === "file" && !w.aliasesOnly)) w.add(path, abs, ent.kind);
  }
}

/** Options of {@link listRefsOstree}. */
export interface OstreeRefListOptions {
  /** Only refs under this refspec prefix (`foo`, `foo/bar`, `REMOTE:`, `REMOTE:.`, `REMOTE:foo`). */
  prefix?: string | null;
  /** Strip the prefix from the names (`ostree refs PREFIX`); false keeps full names (`--list`). */
  cutPrefix?: boolean;
  /** Only aliases (symlinks), valued with their target ref. */
  aliasesOnly?: boolean;
  /** Leave out refs/remotes. */
  excludeRemotes?: boolean;
}

/** `[REMOTE:]REF` split as ostree_parse_refspec does; null if it does not parse. */
export function splitRefspec(spec: string): { remote: string | null; ref: string } | null {
  const m = /^(?:([^:]*):)?(.*)$/s.exec(spec)!;
  const remote = m[1] ?? null;
  if (remote !== null && !isRefFragment(remote)) return null;
  if (!isRef(m[2]!)) return null;
  return { remote, ref: m[2]! };
}

/**
 * List refs as `ostree refs` sees them, in ostree's output order.
 * @throws ArborError NOT_FOUND/IO "Listing refs: opendir(refs/remotes): No such file or directory",
 *   BAD_REF "Listing refs: Invalid refspec X" for a malformed prefix.
 */
export function listRefsOstree(repo: Repo, o: OstreeRefListOptions = {}): ListedRef[] {
  const found: ListedRef[] = [];
  const aliasesOnly = !!o.aliasesOnly;
  const adder =
    (remote: string | null): Walk["add"] =>
    (path, abs, kind) => {
      if (aliasesOnly && kind === "link") {
        let target: string;
        try {
          target = fs.readlinkSync(abs);
        } catch (e) {
          throw listingError(`readlinkat(${path})`, e);
        }
        while (target.startsWith("../")) target = target.slice(3);
        found.push({ key: path, value: target });
        return;
      }
      found.push({ key: remote ? `${remote}:${path}` : path, value: readRefContents(abs, path) });
    };
  if (o.prefix !== undefined && o.prefix !== null) {
    const spec = o.prefix;
    let remote: string | null = null;
    let refPrefix: string | null = null;
    const colon = spec.lastIndexOf(":");
    if ((spec.endsWith(":") || spec.endsWith(":.")) && isRefFragment(spec.slice(0, colon))) {
      remote = spec.slice(0, colon);
      refPrefix = ".";
    }
    if (refPrefix === null) {
      const parsed = splitRefspec(spec);
      if (!parsed) throw new ArborError("BAD_REF", `Listing refs: Invalid refspec ${spec}`);
      remote = parsed.remote;
      refPrefix = parsed.ref;
    }
    const prefixRel = !o.excludeRemotes && remote !== null ? `refs/remotes/${remote}/` : "refs/heads/";
    const abs = join(repo.path, prefixRel, refPrefix);
    let st: import("node:fs").Stats | null = null;
    try {
      st = fs.statSync(abs);
    } catch (e) {
      if (errnoCode(e) !== "ENOENT" && errnoCode(e) !== "ENOTDIR")
        throw listingError(`fstatat(${prefixRel}${refPrefix})`, e);
    }
    const refRemote = !o.excludeRemotes ? remote : null;
    if (st?.isDirectory()) {
      const base = o.cutPrefix ? "" : `${refPrefix}/`;
      enumerate({ aliasesOnly, add: adder(refRemote) }, abs, o.cutPrefix ? "." : refPrefix, base);
    } else if (st) {
      adder(refRemote)(refPrefix, abs, "file");
    }
  } else {
    enumerate({ aliasesOnly, add: adder(null) }, join(repo.path, "refs/heads"), "refs/heads", "");
    if (!o.excludeRemotes) {
      const remotesDir = join(repo.path, "refs/remotes");
      let remotes: Array<{ name: string; kind: Kind }>;
      try {
        remotes = readdirOrdered(remotesDir);
      } catch (e) {
        throw listingError("opendir(refs/remotes)", e);
      }
      for (const r of remotes) {
        if (r.kind !== "dir") continue;
        enumerate({ aliasesOnly, add: adder(r.name) }, join(remotesDir, r.name), r.name, "");
      }
    }
  }
  return inHashOrder(found, (e) => e.key, gStrHash);
}

/** Arrange entries as a GHashTable keyed by `keyOf` iterates them (later duplicates replace). */
function inHashOrder<T>(entries: T[], keyOf: (e: T) => string, hash: (k: string) => number): T[] {
  const byKey = new Map<string, T>();
  for (const e of entries) byKey.set(keyOf(e), e);
  return ghashOrder(
    entries.map((e) => keyOf(e)),
    hash,
  ).map((k) => byKey.get(k)!);
}

/** Options of {@link listCollectionRefs}. */
export interface CollectionRefListOptions {
  /** Only this collection (validated). */
  collectionId?: string | null;
  excludeRemotes?: boolean;
  excludeMirrors?: boolean;
}

const SEP = "\u0000";
const collectionRefHash = (k: string): number => {
  const i = k.indexOf(SEP);
  return (gStrHash(k.slice(0, i)) ^ gStrHash(k.slice(i + 1))) >>> 0;
};

/**
 * List (collection ID, ref) pairs as `ostree refs --collections` does, in its output order:
 * `refs/heads` under the repo's collection ID (if it has one), `refs/mirrors/COLLECTION/`, and the
 * refs of remotes with a valid `collection-id` option (others are ignored).
 * @throws ArborError BAD_NAME "Listing refs: Invalid collection ID X", NOT_FOUND/IO for unreadable dirs.
 */
export function listCollectionRefs(repo: Repo, o: CollectionRefListOptions = {}): ListedCollectionRef[] {
  const match = o.collectionId ?? null;
  if (match !== null && !isCollectionId(match))
    throw new ArborError("BAD_NAME", `Listing refs: Invalid collection ID ${match}`);
  const found: ListedCollectionRef[] = [];
  const addFor =
    (collectionId: string): Walk["add"] =>
    (path, abs) => {
      found.push({ collectionId, ref: path, checksum: readRefContents(abs, path) });
    };
  const main = repo.collectionId;
  if (main !== undefined && (match === null || match === main)) {
    enumerate({ aliasesOnly: false, add: addFor(main) }, join(repo.path, "refs/heads"), "refs/heads", "");
  }
  const roots = [
    ...(o.excludeMirrors ? [] : ["refs/mirrors"]),
    ...(o.excludeRemotes ? [] : ["refs/remotes"]),
  ];
  for (const root of roots) {
    let entries: Array<{ name: string; kind: Kind }>;
    try {
      entries = readdirOrdered(join(repo.path, root));
    } catch (e) {
      if (errnoCode(e) === "ENOENT") continue;
      throw listingError(`opendir(${root})`, e);
    }
    for (const ent of entries) {
      if (ent.kind !== "dir") continue;
      let cid: string | undefined = ent.name;
      if (root === "refs/remotes") {
        try {
          cid = findRemote(repo, ent.name)?.get("collection-id");
        } catch {
          cid = undefined;
        }
        if (cid === undefined || !isCollectionId(cid)) continue;
      }
      if (match !== null && match !== cid) continue;
      enumerate({ aliasesOnly: false, add: addFor(cid) }, join(repo.path, root, ent.name), ent.name, "");
    }
  }
  return inHashOrder(found, (e) => `${e.collectionId}${SEP}${e.ref}`, collectionRefHash);
}
