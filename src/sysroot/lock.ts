/**
 * The sysroot lock, `ostree/lock`: an exclusive OFD lock held around every admin command that
 * writes, so concurrent `admin` commands (arbor's or ostree's) run one after the other. The file
 * is unlinked on release, as ostree does; waiters cope with that (io/lock.ts).
 */
import { join } from "node:path";
import { withContext } from "../errors.js";
import { acquireLock, type LockHandle } from "../io/lock.js";

/** Options for {@link lockSysroot}. */
export interface SysrootLockOptions {
  /** Told once, if another process holds the lock, what we are waiting for. */
  onWait?: (message: string) => void;
  /** Give up after this long (default: wait as long as it takes, like ostree). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Take the sysroot lock of the sysroot at `path`.
 * @throws ArborError LOCKED (timed out), NOT_FOUND (no `ostree/` directory), ABORTED, IO
 */
export async function lockSysroot(path: string, o: SysrootLockOptions = {}): Promise<LockHandle> {
  const lockPath = join(path, "ostree/lock");
  try {
    return await acquireLock(lockPath, "exclusive", {
      timeoutMs: o.timeoutMs ?? Number.POSITIVE_INFINITY,
      unlinkOnRelease: true,
      ...(o.signal ? { signal: o.signal } : {}),
      onWait: () =>
        o.onWait?.(
          `Waiting for sysroot lock "${lockPath}" (another admin command is changing this sysroot)...`,
        ),
    });
  } catch (e) {
    throw withContext("Cannot lock sysroot", e);
  }
}
