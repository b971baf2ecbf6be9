/**
 * `create-usb`: put collection–refs of this repository onto removable media, as `ostree
 * create-usb`: an archive repository at MOUNT/.ostree/repo (or `destinationRepo` below MOUNT) is
 * created or reused, the commits are copied into it with pull-local's copying (a local source is
 * trusted, as ostree's `file://` pull), the refs are written as mirrors
 * (`refs/mirrors/COLLECTION/REF`), the summary is regenerated, and a repository outside the two
 * well-known places (`.ostree/repo`, `ostree/repo`) gets a `.ostree/repos.d/NN-generated` symlink
 * so a mount-based finder sees it (reused when one already resolves to the repository; ostree
 * 2022.7 means to but compares the link's own inode, so it adds `01-generated` on a re-run).
 *
 * Hostile input: the destination must stay below MOUNT (lexically, after resolving symlinks, and on
 * the same device) and must not be the source repository; nothing is created before the lexical
 * check (ostree creates a `../x` destination outside MOUNT; arbor refuses it).
 */
import { mkdirSync, readdirSync, realpathSync, type Stats, statSync, symlinkSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { validateChecksum, validateRef } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { verifyBindings } from "./fsck-bindings.js";
import { pullLocal } from "./pull-local.js";
import { isCollectionId, listCollectionRefs } from "./ref-listing.js";
import { writeCollectionRef } from "./refs.js";
import { Repo } from "./repo.js";
import { updateSummary } from "./summary.js";

/** One collection–ref to copy. */
export interface UsbRef {
  collectionId: string;
  ref: string;
}

/** Options for {@link createUsb}. */
export interface CreateUsbOptions {
  /** The repository's path relative to the mount (default `.ostree/repo`). */
  destinationRepo?: string;
  /** Copy this commit instead of the ref's (only with a single collection–ref). */
  commit?: string;
  /** Do not fsync (faster; not crash-safe). */
  disableFsync?: boolean;
  signal?: AbortSignal;
}

/** What {@link createUsb} did. */
export interface CreateUsbResult {
  /** The destination repository's absolute path. */
  repoPath: string;
  /** `destinationRepo` as given (or the default). */
  destinationRepo: string;
  /** The collection–refs written, with their commits. */
  refs: Array<UsbRef & { commit: string }>;
  /** The `.ostree/repos.d` symlink created (absolute path), if one was. */
  symlink: string | null;
}

const DEFAULT_DEST = ".ostree/repo";
const WELL_KNOWN = new Set([".ostree/repo", "ostree/repo"]);

function isBelow(root: string, p: string): boolean {
  return p !== root && p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Whether the deepest existing ancestor of `p` (symlinks resolved) is `realRoot` or below it. */
function insideAfterLinks(realRoot: string, p: string): boolean {
  for (let cur = p; ; cur = dirname(cur)) {
    try {
      const real = realpathSync(cur);
      return real === realRoot || isBelow(realRoot, real);
    } catch (e) {
      if (errnoCode(e) !== "ENOENT" || dirname(cur) === cur)
        throw fromSystemError(`Cannot resolve "${cur}"`, e);
    }
  }
}

function statMount(mount: string): Stats {
  let st: Stats;
  try {
    st = statSync(mount);
  } catch (e) {
    throw fromSystemError(`opendir(${mount})`, e);
  }
  if (!st.isDirectory()) throw new ArborError("IO", `opendir(${mount}): Not a directory`);
  return st;
}

/** The commit each collection–ref names in `src` (or `commit`), bindings checked. */
function resolveRefs(
  src: Repo,
  refs: UsbRef[],
  commit: string | undefined,
): Array<UsbRef & { commit: string }> {
  return refs.map((r) => {
    let cs = commit;
    if (cs === undefined) {
      const found = listCollectionRefs(src, { collectionId: r.collectionId }).find((x) => x.ref === r.ref);
      if (!found) {
        throw new ArborError("NOT_FOUND", `Collection–ref (${r.collectionId}, ${r.ref}) not found`);
      }
      cs = found.checksum;
    }
    validateChecksum(cs);
    if (src.hasObject("commit", cs)) {
      const why = verifyBindings(r.collectionId, r.ref, src.loadCommit(cs));
      if (why !== null) throw new ArborError("SIGNATURE_INVALID", `Commit ${cs}: ${why}`);
    }
    return { ...r, commit: cs };
  });
}

/** Link `.ostree/repos.d/NN-generated` → the repository, unless one already points at it. */
function ensureSymlink(mount: string, dest: string, repoSt: Stats): string | null {
  const dir = join(mount, ".ostree/repos.d");
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    for (const name of readdirSync(dir)) {
      try {
        if (statSync(join(dir, name)).ino === repoSt.ino && statSync(join(dir, name)).dev === repoSt.dev)
          return null;
      } catch {
        // dangling or unreadable entry: not ours
      }
    }
  } catch (e) {
    throw fromSystemError(`Cannot list "${dir}"`, e);
  }
  const target = join("..", "..", dest);
  for (let i = 0; i < 100; i++) {
    const link = join(dir, `${String(i).padStart(2, "0")}-generated`);
    try {
      symlinkSync(target, link);
      return link;
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw fromSystemError(`symlinkat(${link} → ${target})`, e);
    }
  }
  throw new ArborError("EXISTS", "Could not find an unused symlink name for the repository");
}

/**
 * Copy collection–refs of `src` into a repository on the medium mounted at `mount`.
 * @example
 * await createUsb(Repo.open("/sysroot/ostree/repo"), "/media/usb", [{ collectionId: "org.example.Os", ref: "os/stable" }]);
 * @throws ArborError USAGE (no refs, `commit` with several, destination outside MOUNT or the
 *   source itself), BAD_NAME (collection ID), BAD_REF, BAD_CHECKSUM, NOT_FOUND (mount, ref),
 *   SIGNATURE_INVALID (a commit not bound to its collection–ref), EXISTS (a non-archive
 *   repository there), and pull-local's errors (OBJECT_NOT_FOUND, LOCKED, NO_SPACE, IO).
 */
export async function createUsb(
  src: Repo,
  mount: string,
  refs: UsbRef[],
  o: CreateUsbOptions = {},
): Promise<CreateUsbResult> {
  if (refs.length === 0)
    throw new ArborError("USAGE", "At least one COLLECTION-ID REF pair must be specified");
  if (o.commit !== undefined && refs.length > 1) {
    throw new ArborError(
      "USAGE",
      "The --commit option can only be used when a single COLLECTION-ID REF pair is specified",
    );
  }
  const mountSt = statMount(mount);
  for (const r of refs) {
    if (!isCollectionId(r.collectionId))
      throw new ArborError("BAD_NAME", `Invalid collection ID ${r.collectionId}`);
    validateRef(r.ref);
  }
  const dest = o.destinationRepo ?? DEFAULT_DEST;
  const root = resolve(mount);
  const abs = resolve(root, dest);
  if (dest === "" || isAbsolute(dest) || !isBelow(root, abs))
    throw new ArborError("PATH_ESCAPE", "--destination-repo must be a descendent of MOUNT-PATH");
  const targets = resolveRefs(src, refs, o.commit);
  const realRoot = realpathSync(root);
  if (!insideAfterLinks(realRoot, abs))
    throw new ArborError("PATH_ESCAPE", "--destination-repo must be a descendent of MOUNT-PATH");
  try {
    mkdirSync(abs, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fromSystemError(`Cannot create "${abs}"`, e);
  }
  const realAbs = realpathSync(abs);
  const repoSt = statSync(realAbs);
  if (!isBelow(realRoot, realAbs) || repoSt.dev !== mountSt.dev)
    throw new ArborError("PATH_ESCAPE", "--destination-repo must be a descendent of MOUNT-PATH");
  if (realAbs === realpathSync(src.path))
    throw new ArborError("USAGE", "--destination-repo must not be the source repository");
  const dst = Repo.create(realAbs, { mode: "archive" });
  await pullLocal(src, dst, {
    refs: targets.map((t) => t.commit),
    untrusted: false,
    disableVerifyBindings: true, // checked above, against each collection–ref
    ...(o.disableFsync ? { disableFsync: true } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  for (const t of targets) writeCollectionRef(dst, t.collectionId, t.ref, t.commit);
  await updateSummary(dst);
  const symlink = WELL_KNOWN.has(relative(root, abs))
    ? null
    : ensureSymlink(root, relative(root, abs), repoSt);
  return { repoPath: realAbs, destinationRepo: dest, refs: targets, symlink };
}
