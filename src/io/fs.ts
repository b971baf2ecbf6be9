/**
 * The narrow filesystem surface the library uses, plus fault injection for crash tests.
 *
 * Everything here reports failures as {@link ArborError}s whose message leads with the action
 * (`Cannot read "/r/config": …`) and whose `data.errno` keeps the errno name; `ENOSPC`/`EDQUOT`
 * become `NO_SPACE`, `ENOENT` becomes `NOT_FOUND`, anything else `IO` (see `fromSystemError`).
 *
 * Fault points: code that matters for durability calls `faultPoint("some.name")` at the
 * interesting moments (before a rename, after a ref moves…). With the environment variable
 * `ARBOR_FAULT=some.name` (or `some.name:N`) the process kills itself with SIGKILL the N-th time
 * (default: the first) that point is reached, which is how e2e tests simulate a power cut at an
 * exact spot. `ARBOR_FAULT_ENOSPC=some.name[:N]` instead makes the point throw an ENOSPC system
 * error from its N-th hit on, like a disk that has filled up. The variables are read once; when
 * neither is set a fault point costs one comparison.
 */

import { join } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { FS_APPEND_FL, FS_IMMUTABLE_FL, native } from "./native.js";
import { fs } from "./node-builtins.js";
import { fsyncPathOffThread } from "./off-thread.js";

/**
 * True if something exists at `path`. A final symlink is not followed, so a dangling symlink
 * exists (bare repos store symlinks as objects).
 * @throws ArborError `IO` for errors other than ENOENT/ENOTDIR (e.g. EACCES).
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await fs.promises.lstat(path);
    return true;
  } catch (e) {
    if (isAbsent(e)) return false;
    throw fromSystemError(`Cannot check whether "${path}" exists`, e);
  }
}

/** Synchronous {@link exists}, for metadata-heavy loops. @throws ArborError `IO`. */
export function existsSync(path: string): boolean {
  try {
    fs.lstatSync(path);
    return true;
  } catch (e) {
    if (isAbsent(e)) return false;
    throw fromSystemError(`Cannot check whether "${path}" exists`, e);
  }
}

/**
 * The contents of `path`, or null if it does not exist (ENOENT, or ENOTDIR: a parent is not a
 * directory, so the file cannot exist either).
 * @throws ArborError `IO` (EISDIR, EACCES…), `NO_SPACE` never.
 */
export async function readFileMaybe(path: string): Promise<Buffer | null> {
  try {
    return await fs.promises.readFile(path);
  } catch (e) {
    if (isAbsent(e)) return null;
    throw fromSystemError(`Cannot read "${path}"`, e);
  }
}

/** Synchronous {@link readFileMaybe}. @throws ArborError `IO`. */
export function readFileMaybeSync(path: string): Buffer | null {
  try {
    return fs.readFileSync(path);
  } catch (e) {
    if (isAbsent(e)) return null;
    throw fromSystemError(`Cannot read "${path}"`, e);
  }
}

/**
 * Create directory `path` and any missing parents (mode `mode & ~umask`, default 0o777 & ~umask);
 * an existing directory is fine.
 * @throws ArborError `IO` (EEXIST when a component is a non-directory, EACCES…), `NO_SPACE`.
 */
export async function mkdirp(path: string, mode?: number): Promise<void> {
  try {
    await fs.promises.mkdir(path, { recursive: true, ...(mode !== undefined ? { mode } : {}) });
  } catch (e) {
    throw fromSystemError(`Cannot create directory "${path}"`, e);
  }
}

/**
 * Remove `path` and everything below it; a missing `path` is not an error. Symlinks are removed,
 * never followed. If removal fails with EPERM/EACCES because something below is immutable or
 * append-only (`chattr +i` deployment roots), those flags are cleared (needs root and the native
 * addon) and removal is retried once.
 * @throws ArborError `IO` if removal still fails: the message names the error and what clearing
 *   the flags did. `NOT_FOUND` never.
 */
export async function rmrf(path: string): Promise<void> {
  try {
    await fs.promises.rm(path, { recursive: true, force: true });
    return;
  } catch (e) {
    const c = errnoCode(e);
    // Node's recursive rm reports a file it may not unlink (append-only/immutable) as ENOTDIR
    // from scandir: after unlink fails with EPERM it retries the file as a directory.
    if (c !== "EPERM" && c !== "EACCES" && c !== "ENOTDIR")
      throw fromSystemError(`Cannot remove "${path}"`, e);
  }
  let cleared: { count: number; error?: unknown };
  try {
    cleared = clearImmutableFlags(path);
  } catch (e) {
    cleared = { count: 0, error: e }; // no addon: the retry below fails the same way and says so
  }
  try {
    await fs.promises.rm(path, { recursive: true, force: true });
  } catch (e) {
    const how = cleared.error
      ? `; clearing immutable flags failed: ${cleared.error instanceof Error ? cleared.error.message : String(cleared.error)}`
      : `; ${cleared.count} immutable or append-only flag(s) were cleared`;
    const base = fromSystemError(`Cannot remove "${path}"`, e);
    throw new ArborError(base.code, `${base.message}${how}`, { cause: e, data: base.data });
  }
}

/**
 * Clear `FS_IMMUTABLE_FL` and `FS_APPEND_FL` on `path` and every file and directory below it
 * (symlinks and special files have no flags and are skipped).
 * @returns how many inodes had a flag cleared.
 * @throws Node system error (EPERM without CAP_LINUX_IMMUTABLE); ArborError `UNSUPPORTED`
 *   without the native addon.
 */
export function clearImmutableTree(path: string): number {
  const r = clearImmutableFlags(path);
  if (r.error !== undefined) throw r.error;
  return r.count;
}

/**
 * {@link clearImmutableTree}, going on past an inode it cannot read or change (the first such
 * error is returned), so one odd file does not keep the flags of the rest from being cleared.
 * @throws ArborError `UNSUPPORTED` without the native addon.
 */
function clearImmutableFlags(path: string): { count: number; error?: unknown } {
  const n = native();
  const mask = FS_IMMUTABLE_FL | FS_APPEND_FL;
  let count = 0;
  let error: unknown;
  const stack = [path];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const st = fs.lstatSync(p);
      if (!st.isDirectory() && !st.isFile()) continue;
      let flags = 0;
      try {
        flags = n.getInodeFlags(p);
      } catch (e) {
        // Filesystems without inode flags cannot have set them.
        if (errnoCode(e) !== "ENOTSUP" && errnoCode(e) !== "ENOTTY") throw e;
      }
      if (flags & mask) {
        n.setInodeFlags(p, flags & ~mask);
        count++;
      }
      if (st.isDirectory()) for (const name of fs.readdirSync(p)) stack.push(join(p, name));
    } catch (e) {
      if (!isAbsent(e)) error ??= e;
    }
  }
  return { count, ...(error !== undefined ? { error } : {}) };
}

/**
 * fsync(2) the file or directory at `path` (opened read-only, which is enough for both): after a
 * rename, fsyncing the directory is what makes the new name itself durable.
 * @throws ArborError `NOT_FOUND`, `IO`.
 */
export async function fsyncPath(path: string): Promise<void> {
  try {
    await fsyncPathOffThread(path);
  } catch (e) {
    throw fromSystemError(`Cannot fsync "${path}"`, e);
  }
}

/** Synchronous {@link fsyncPath}. @throws ArborError `NOT_FOUND`, `IO`. */
export function fsyncPathSync(path: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY);
    fs.fsyncSync(fd);
  } catch (e) {
    throw fromSystemError(`Cannot fsync "${path}"`, e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Remove the file (or symlink) at `path` if it is there: an absent one (ENOENT) is not an error.
 * @returns true if something was removed.
 * @throws ArborError `IO` (`Cannot remove "PATH": …`) for any other failure (EISDIR, EACCES…).
 */
export function unlinkIfExistsSync(path: string): boolean {
  try {
    fs.unlinkSync(path);
    return true;
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return false;
    throw fromSystemError(`Cannot remove "${path}"`, e);
  }
}

function isAbsent(e: unknown): boolean {
  const c = errnoCode(e);
  return c === "ENOENT" || c === "ENOTDIR";
}

// ---------------------------------------------------------------------------------------------
// Fault injection
// ---------------------------------------------------------------------------------------------

interface FaultSpec {
  name: string;
  /** 1-based hit count at which the fault fires. */
  at: number;
  hits: number;
}

interface FaultConfig {
  kill?: FaultSpec;
  enospc?: FaultSpec;
  pause?: FaultSpec;
}

/** undefined: environment not read yet; null: no faults configured (the fast path). */
let faults: FaultConfig | null | undefined;

/**
 * Parse `name` or `name:N` (N ≥ 1). Fault point names should not contain `:`; only a trailing
 * `:digits` is taken as the count.
 * @throws ArborError `USAGE` for an empty name or a count below 1.
 */
function parseFaultSpec(variable: string, value: string | undefined): FaultSpec | undefined {
  if (value === undefined || value === "") return undefined;
  const m = /^(.*?)(?::(\d+))?$/.exec(value)!;
  const name = m[1]!;
  const at = m[2] === undefined ? 1 : Number(m[2]);
  if (name === "" || !Number.isSafeInteger(at) || at < 1) {
    throw new ArborError("USAGE", `Cannot parse ${variable}="${value}": expected NAME or NAME:N with N >= 1`);
  }
  return { name, at, hits: 0 };
}

/**
 * (Re-)read `ARBOR_FAULT` and `ARBOR_FAULT_ENOSPC` from `env` and reset hit counts. Called
 * implicitly on the first {@link faultPoint}; tests call it after changing the environment.
 * @throws ArborError `USAGE` for a malformed value.
 */
export function resetFaultPoints(env: NodeJS.ProcessEnv = process.env): void {
  const kill = parseFaultSpec("ARBOR_FAULT", env.ARBOR_FAULT);
  const enospc = parseFaultSpec("ARBOR_FAULT_ENOSPC", env.ARBOR_FAULT_ENOSPC);
  const pause = parseFaultSpec("ARBOR_FAULT_PAUSE", env.ARBOR_FAULT_PAUSE);
  faults =
    kill || enospc || pause
      ? { ...(kill ? { kill } : {}), ...(enospc ? { enospc } : {}), ...(pause ? { pause } : {}) }
      : null;
}

/**
 * A named point where a crash test may inject a fault (see the module comment). Free when no
 * fault is configured.
 *
 * Names in use are dotted, `<module>.<moment>`, e.g. `atomic-write.before-rename`.
 * @throws Node system error with `code` "ENOSPC" when `ARBOR_FAULT_ENOSPC` selects this point;
 *   ArborError `USAGE` (on first use) if the fault variables are malformed. When `ARBOR_FAULT`
 *   selects this point the process dies by SIGKILL and the call never returns.
 */
export function faultPoint(name: string): void {
  if (faults === null) return;
  if (faults === undefined) {
    resetFaultPoints();
    if (faults === null) return;
  }
  const { kill, enospc, pause } = faults as FaultConfig;
  if (kill && kill.name === name && ++kill.hits === kill.at) {
    process.kill(process.pid, "SIGKILL");
  }
  if (pause && pause.name === name && ++pause.hits === pause.at) {
    // ARBOR_FAULT_PAUSE: freeze here (holding whatever locks are held) so a test can observe
    // the state mid-operation; the test kills the process. Bounded to 120 s.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
  }
  if (enospc && enospc.name === name && ++enospc.hits >= enospc.at) {
    throw Object.assign(new Error(`ENOSPC: no space left on device, fault point "${name}"`), {
      code: "ENOSPC",
      errno: -28,
      syscall: "write",
    });
  }
}
