/**
 * Paths that cannot leave their root.
 *
 * Invariant: every path this module returns is lexically inside its root, because it is built
 * only from components that passed {@link validateName} — non-empty, not `.` or `..`, no `/`, no
 * NUL. Names from commits, dirtrees, tar files and the network go through here before they touch
 * the filesystem, so a hostile `../../etc/passwd` is rejected rather than resolved.
 *
 * Lexical containment is not enough when the destination already has content (a checkout into
 * an existing directory, `--union`): a symlink `usr -> /` planted there would redirect writes to
 * `usr/bin/x` outside the target. {@link ensureDirNoFollow} walks such paths component by
 * component with lstat and refuses any symlink or non-directory on the way.
 *
 * Limit: Node has no openat(2)/O_NOFOLLOW walk, so the check defends against hostile content that
 * exists in the destination, not against another process with write access to the destination
 * swapping components while we work (nobody but the owner should be able to write there).
 */
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import { join, resolve } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";

/**
 * Check that `name` is a single, safe path component: non-empty, not `.` or `..`, and free of
 * `/` and NUL.
 * @throws ArborError `BAD_NAME`, quoting the name (JSON-escaped so a NUL is visible).
 */
export function validateName(name: string): void {
  let why: string | undefined;
  if (name.length === 0) why = "is empty";
  else if (name === "." || name === "..") why = "is a relative directory reference";
  else if (name.includes("/")) why = 'contains "/"';
  else if (name.includes("\0")) why = "contains a NUL byte";
  if (why !== undefined) {
    throw new ArborError("BAD_NAME", `Invalid file name ${JSON.stringify(name)}: ${why}`, { data: { name } });
  }
}

/**
 * Split a relative path into validated components. Empty components are ignored, so a leading,
 * trailing or doubled `/` is harmless (`"/usr//bin/"` → `["usr", "bin"]`); `.` and `..` are
 * rejected, never resolved.
 * @throws ArborError `BAD_NAME` (quoting the offending component and the whole path).
 */
export function splitRelPath(relPath: string): string[] {
  const parts = relPath.split("/").filter((p) => p.length > 0);
  for (const p of parts) {
    try {
      validateName(p);
    } catch (e) {
      throw new ArborError("BAD_NAME", `Invalid path ${JSON.stringify(relPath)}: ${(e as Error).message}`, {
        data: { path: relPath, name: p },
        cause: e,
      });
    }
  }
  return parts;
}

/**
 * The absolute path of `relPath` under `root`, guaranteed lexically inside `root` (see the module
 * comment for symlinks). `relPath` is a `/`-separated string (see {@link splitRelPath}) or an
 * array of components, each validated. An empty path gives `root` itself.
 * @example joinUnder("/srv/co", "usr/bin/env") // "/srv/co/usr/bin/env"
 * @throws ArborError `BAD_NAME` for `..`, `.`, NUL, empty array components or `/` inside a component.
 */
export function joinUnder(root: string, relPath: string | readonly string[]): string {
  let parts: readonly string[];
  if (typeof relPath === "string") {
    parts = splitRelPath(relPath);
  } else {
    for (const p of relPath) validateName(p);
    parts = relPath;
  }
  return parts.length === 0 ? resolve(root) : join(resolve(root), ...parts);
}

/** Options for {@link ensureDirNoFollow}. */
export interface EnsureDirOptions {
  /** Mode for directories this call creates (umask applies). Default 0o755. */
  mode?: number;
}

function escapeError(root: string, relDir: string, partial: string, what: string): ArborError {
  return new ArborError(
    "PATH_ESCAPE",
    `Cannot create directory "${relDir}" under "${root}": "${partial}" ${what}`,
    { data: { root, path: relDir, component: partial } },
  );
}

function checkRoot(root: string, st: fs.Stats): void {
  if (!st.isDirectory()) {
    throw new ArborError("PATH_ESCAPE", `Cannot use "${root}" as a root: not a directory`, {
      data: { root },
    });
  }
}

/**
 * Make sure directory `relDir` exists under `root`, creating missing components one at a time and
 * never following a symlink below `root` (`root` itself is trusted and may be a symlink).
 * @returns the absolute path of the directory.
 * @throws ArborError `PATH_ESCAPE` if an existing component is a symlink or not a directory (or
 *   `root` is not a directory); `BAD_NAME` for an invalid component; `NOT_FOUND` if `root` does
 *   not exist; `IO`/`NO_SPACE` for other failures.
 */
export async function ensureDirNoFollow(
  root: string,
  relDir: string | readonly string[],
  options: EnsureDirOptions = {},
): Promise<string> {
  const mode = options.mode ?? 0o755;
  const parts = typeof relDir === "string" ? splitRelPath(relDir) : [...relDir];
  if (typeof relDir !== "string") for (const p of parts) validateName(p);
  const rel = parts.join("/");
  const absRoot = resolve(root);
  try {
    checkRoot(root, await fsp.stat(absRoot));
  } catch (e) {
    throw e instanceof ArborError ? e : fromSystemError(`Cannot use "${root}" as a root`, e);
  }
  let cur = absRoot;
  for (let i = 0; i < parts.length; i++) {
    cur = join(cur, parts[i]!);
    const partial = parts.slice(0, i + 1).join("/");
    // Two rounds: if mkdir loses a race with another creator, look again at what is there now.
    for (let round = 0; ; round++) {
      let st: fs.Stats | undefined;
      try {
        st = await fsp.lstat(cur);
      } catch (e) {
        if (errnoCode(e) !== "ENOENT")
          throw fromSystemError(`Cannot create directory "${rel}" under "${root}"`, e);
      }
      if (st) {
        if (st.isSymbolicLink()) throw escapeError(root, rel, partial, "is a symlink");
        if (!st.isDirectory()) throw escapeError(root, rel, partial, "exists and is not a directory");
        break;
      }
      try {
        await fsp.mkdir(cur, { mode });
        break;
      } catch (e) {
        if (errnoCode(e) !== "EEXIST" || round > 0) {
          throw fromSystemError(`Cannot create directory "${rel}" under "${root}"`, e);
        }
      }
    }
  }
  return cur;
}

/**
 * Synchronous {@link ensureDirNoFollow}, for metadata-heavy loops (checkout).
 * @throws ArborError `PATH_ESCAPE`, `BAD_NAME`, `NOT_FOUND`, `IO`, `NO_SPACE` as the async form.
 */
export function ensureDirNoFollowSync(
  root: string,
  relDir: string | readonly string[],
  options: EnsureDirOptions = {},
): string {
  const mode = options.mode ?? 0o755;
  const parts = typeof relDir === "string" ? splitRelPath(relDir) : [...relDir];
  if (typeof relDir !== "string") for (const p of parts) validateName(p);
  const rel = parts.join("/");
  const absRoot = resolve(root);
  try {
    checkRoot(root, fs.statSync(absRoot));
  } catch (e) {
    throw e instanceof ArborError ? e : fromSystemError(`Cannot use "${root}" as a root`, e);
  }
  let cur = absRoot;
  for (let i = 0; i < parts.length; i++) {
    cur = join(cur, parts[i]!);
    const partial = parts.slice(0, i + 1).join("/");
    for (let round = 0; ; round++) {
      let st: fs.Stats | undefined;
      try {
        st = fs.lstatSync(cur);
      } catch (e) {
        if (errnoCode(e) !== "ENOENT")
          throw fromSystemError(`Cannot create directory "${rel}" under "${root}"`, e);
      }
      if (st) {
        if (st.isSymbolicLink()) throw escapeError(root, rel, partial, "is a symlink");
        if (!st.isDirectory()) throw escapeError(root, rel, partial, "exists and is not a directory");
        break;
      }
      try {
        fs.mkdirSync(cur, { mode });
        break;
      } catch (e) {
        if (errnoCode(e) !== "EEXIST" || round > 0) {
          throw fromSystemError(`Cannot create directory "${rel}" under "${root}"`, e);
        }
      }
    }
  }
  return cur;
}
