/**
 * Inter-process locks compatible with the real ostree.
 *
 * ostree locks a repository through its `.lock` file and a sysroot through `ostree/lock`, with
 * whole-file **OFD** (open file description) fcntl locks: a read lock is "shared" (writing
 * objects, committing), a write lock is "exclusive" (prune, deleting objects, all admin writes).
 * flock(2) locks and classic POSIX locks do not conflict with OFD locks, hence the native addon.
 * Verified against ostree 2022.7: while we hold the repo lock exclusively, `ostree commit` and
 * `ostree prune` fail after `core.lock-timeout-secs` with "Locking repo shared/exclusive failed";
 * while we hold it shared, `ostree commit` proceeds and `ostree prune` fails; `ostree admin`
 * prints "Waiting for sysroot lock..." and waits for ours.
 *
 * Blocking F_OFD_SETLKW would freeze Node's event loop, so waiting is a series of non-blocking
 * attempts with backoff (5 ms doubling to 100 ms).
 *
 * Reentrancy: OFD locks belong to an open file description, not to a process. Two handles for
 * the same file in one process therefore conflict exactly like two processes would (a second
 * exclusive acquire waits, then fails with LOCKED). Share one handle inside a process instead.
 *
 * Files that get unlinked (`unlinkOnRelease`, as ostree does with the sysroot lock): a waiter may
 * have opened the old inode just before it was unlinked and would then "win" a lock nobody else
 * can see. After every acquisition we check that the path still names the inode we locked, and
 * start over if not.
 */
import * as fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { native } from "./native.js";

/** "shared" = OFD read lock (many holders), "exclusive" = OFD write lock (one holder). */
export type LockMode = "shared" | "exclusive";

/** How long to wait and whom to tell. */
export interface LockWaitOptions {
  /**
   * Give up after this many milliseconds (default 30 000, like ostree's `core.lock-timeout-secs`
   * default of 30). 0 tries once; `Infinity` waits until the lock is free or `signal` aborts.
   */
  timeoutMs?: number;
  /** Called once, with a human-readable message, if the lock is not free at the first attempt. */
  onWait?: (message: string) => void;
  /** Aborting stops waiting with ArborError `ABORTED`. */
  signal?: AbortSignal;
}

/** Options for {@link acquireLock}. */
export interface LockOptions extends LockWaitOptions {
  /**
   * Delete the lock file on release when no one else holds it (ostree does this with the sysroot
   * lock `ostree/lock`). Default false.
   */
  unlinkOnRelease?: boolean;
}

/** A held lock. Releasing it (or process exit) frees it. */
export interface LockHandle {
  /** The lock file. */
  readonly path: string;
  /** The mode currently held (changes with {@link LockHandle.upgrade}/{@link LockHandle.downgrade}). */
  readonly mode: LockMode;
  /** Release the lock and close the file; idempotent and never throws. */
  release(): void;
  /**
   * Convert a shared lock to exclusive, waiting like {@link acquireLock}; the shared lock is kept
   * while waiting (and on failure). Two holders upgrading at once cannot both succeed: one times out.
   * @throws ArborError `LOCKED`, `ABORTED`, `IO` (e.g. the file was opened read-only), `USAGE` if released.
   */
  upgrade(options?: LockWaitOptions): Promise<void>;
  /** Convert an exclusive lock to shared (never waits). @throws ArborError `IO`, `USAGE` if released. */
  downgrade(): void;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const FIRST_DELAY_MS = 5;
const MAX_DELAY_MS = 100;

interface WaitState {
  readonly deadline: number;
  readonly started: number;
  notified: boolean;
}

function lockedError(path: string, mode: LockMode, state: WaitState, timeoutMs: number): ArborError {
  const waited = Date.now() - state.started;
  const suffix = timeoutMs > 0 ? ` (gave up after ${(waited / 1000).toFixed(1)} s)` : "";
  return new ArborError(
    "LOCKED",
    `Cannot lock "${path}" for ${mode} access: held by another process${suffix}`,
    {
      data: { path, mode, timeoutMs },
    },
  );
}

function abortedError(path: string, signal: AbortSignal): ArborError {
  return new ArborError("ABORTED", `Stopped waiting for the lock on "${path}"`, { cause: signal.reason });
}

/** Try `attempt` until it returns true, sleeping with backoff in between. */
async function pollFor(
  attempt: () => boolean,
  path: string,
  mode: LockMode,
  options: LockWaitOptions,
  state: WaitState,
  timeoutMs: number,
): Promise<void> {
  let delay = FIRST_DELAY_MS;
  for (;;) {
    if (options.signal?.aborted) throw abortedError(path, options.signal);
    if (attempt()) return;
    const remaining = state.deadline - Date.now();
    if (remaining <= 0) throw lockedError(path, mode, state, timeoutMs);
    if (!state.notified) {
      state.notified = true;
      options.onWait?.(`Waiting for ${mode} lock on "${path}" (held by another process)...`);
    }
    try {
      await sleep(
        Math.min(delay, remaining),
        undefined,
        options.signal ? { signal: options.signal } : undefined,
      );
    } catch {
      throw abortedError(path, options.signal!);
    }
    delay = Math.min(delay * 2, MAX_DELAY_MS);
  }
}

function tryLock(fd: number, exclusive: boolean, path: string): boolean {
  try {
    return native().ofdLock(fd, exclusive, false);
  } catch (e) {
    if (e instanceof ArborError) throw e;
    const hint = errnoCode(e) === "EBADF" && exclusive ? " (lock file is open read-only)" : "";
    throw fromSystemError(`Cannot lock "${path}"${hint}`, e);
  }
}

function openLockFile(path: string, mode: LockMode): number {
  const { O_RDWR, O_RDONLY, O_CREAT, O_NOCTTY } = fs.constants;
  try {
    // 0640 is what ostree ends up with for `.lock` under the usual umask.
    return fs.openSync(path, O_RDWR | O_CREAT | O_NOCTTY, 0o640);
  } catch (e) {
    const c = errnoCode(e);
    // A read lock only needs read access: lets readers lock a repo on a read-only mount.
    if (mode === "shared" && (c === "EROFS" || c === "EACCES")) {
      try {
        return fs.openSync(path, O_RDONLY | O_NOCTTY);
      } catch {}
    }
    throw fromSystemError(`Cannot open lock file "${path}"`, e);
  }
}

/** True if `path` still names the inode open as `fd` (it was not unlinked or replaced). */
function stillCurrent(fd: number, path: string): boolean {
  const held = fs.fstatSync(fd);
  if (held.nlink === 0) return false;
  try {
    const now = fs.statSync(path);
    return now.ino === held.ino && now.dev === held.dev;
  } catch {
    return false;
  }
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {}
}

/**
 * Take an OFD lock on `path` (created if missing, mode 0640 & ~umask), waiting up to
 * `timeoutMs` for other holders.
 * @example
 * const lock = await acquireLock(join(repo, ".lock"), "exclusive", { timeoutMs: 30_000, onWait: log });
 * try { await prune(); } finally { lock.release(); }
 * @throws ArborError `LOCKED` (timed out: `Cannot lock "<path>" for exclusive access: held by
 *   another process…`), `ABORTED`, `UNSUPPORTED` (native addon not built), `NOT_FOUND` (directory
 *   missing), `IO`.
 */
export async function acquireLock(
  path: string,
  mode: LockMode,
  options: LockOptions = {},
): Promise<LockHandle> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs >= 0)) throw new RangeError(`timeoutMs must be >= 0, got ${timeoutMs}`);
  native(); // fail with UNSUPPORTED before creating the lock file
  const started = Date.now();
  const state: WaitState = { started, deadline: started + timeoutMs, notified: false };
  for (;;) {
    if (options.signal?.aborted) throw abortedError(path, options.signal);
    const fd = openLockFile(path, mode);
    try {
      await pollFor(() => tryLock(fd, mode === "exclusive", path), path, mode, options, state, timeoutMs);
      if (stillCurrent(fd, path)) return new OfdLockHandle(path, fd, mode, options.unlinkOnRelease === true);
    } catch (e) {
      closeQuietly(fd);
      throw e instanceof ArborError ? e : fromSystemError(`Cannot lock "${path}"`, e);
    }
    // We locked an inode that was unlinked meanwhile; the live lock file is a new one.
    closeQuietly(fd);
  }
}

/**
 * Run `fn` while holding the lock, releasing it however `fn` ends.
 * @throws whatever {@link acquireLock} or `fn` throws.
 */
export async function withLock<T>(
  path: string,
  mode: LockMode,
  fn: (lock: LockHandle) => Promise<T>,
  options?: LockOptions,
): Promise<T> {
  const lock = await acquireLock(path, mode, options);
  try {
    return await fn(lock);
  } finally {
    lock.release();
  }
}

class OfdLockHandle implements LockHandle {
  readonly path: string;
  private fd: number | undefined;
  private currentMode: LockMode;
  private readonly unlinkOnRelease: boolean;

  constructor(path: string, fd: number, mode: LockMode, unlinkOnRelease: boolean) {
    this.path = path;
    this.fd = fd;
    this.currentMode = mode;
    this.unlinkOnRelease = unlinkOnRelease;
  }

  get mode(): LockMode {
    return this.currentMode;
  }

  release(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    this.fd = undefined;
    try {
      if (this.unlinkOnRelease) {
        // Only the sole holder may delete the file; a shared holder finds out by trying to upgrade.
        // Waiters that opened this inode notice the unlink after acquiring it (stillCurrent).
        const sole = this.currentMode === "exclusive" || native().ofdLock(fd, true, false);
        if (sole && stillCurrent(fd, this.path)) fs.unlinkSync(this.path);
      }
      native().ofdUnlock(fd);
    } catch {
      // Closing the descriptor below releases the lock regardless.
    } finally {
      closeQuietly(fd);
    }
  }

  async upgrade(options: LockWaitOptions = {}): Promise<void> {
    const fd = this.liveFd("upgrade");
    if (this.currentMode === "exclusive") return;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const started = Date.now();
    const state: WaitState = { started, deadline: started + timeoutMs, notified: false };
    await pollFor(() => tryLock(fd, true, this.path), this.path, "exclusive", options, state, timeoutMs);
    this.currentMode = "exclusive";
  }

  downgrade(): void {
    const fd = this.liveFd("downgrade");
    if (this.currentMode === "shared") return;
    // Converting a write lock to a read lock never conflicts.
    if (!tryLock(fd, false, this.path))
      throw new ArborError("IO", `Cannot downgrade the lock on "${this.path}"`);
    this.currentMode = "shared";
  }

  private liveFd(action: string): number {
    if (this.fd === undefined) {
      throw new ArborError("USAGE", `Cannot ${action} the lock on "${this.path}": it was released`);
    }
    return this.fd;
  }
}
