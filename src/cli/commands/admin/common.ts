/**
 * Shared plumbing of the `admin` commands: open (and lock) the sysroot, route library messages
 * to stdout/stderr as ostree prints them, and the `--os` rule for unbooted sysroots.
 */

import type { Sysroot } from "../../../sysroot/sysroot.js";
import type { OptionSpec } from "../../command.js";
import type { Context } from "../../context.js";

/** `--os=OSNAME`, as ostree words it. */
export const OPT_OS: OptionSpec = {
  long: "os",
  arg: "OSNAME",
  help: "Use a different operating system root than the current one",
};

/** A loaded sysroot and how to let go of it. */
export interface OpenSysroot {
  sysroot: Sysroot;
  /** Release the sysroot lock (idempotent). */
  release(): void;
}

/**
 * Load the sysroot of `--sysroot` (default `/`), taking the sysroot lock first unless `lock` is
 * false (read-only commands, like ostree's UNLOCKED admin commands).
 * @throws ArborError LOCKED, NOT_FOUND, SYSROOT
 */
export async function openSysroot(ctx: Context, o: { lock: boolean }): Promise<OpenSysroot> {
  const { Sysroot } = await import("../../../sysroot/sysroot.js");
  const path = ctx.sysrootPath();
  let release = (): void => {};
  if (o.lock) {
    const { lockSysroot } = await import("../../../sysroot/lock.js");
    const lock = await lockSysroot(path, { onWait: (m) => ctx.err.write(`${m}\n`) });
    release = () => lock.release();
  }
  try {
    const { withContext } = await import("../../../errors.js");
    try {
      return { sysroot: Sysroot.load(path, { env: ctx.env }), release };
    } catch (e) {
      throw withContext("loading sysroot", e);
    }
  } catch (e) {
    release();
    throw e;
  }
}

/** Run `fn` with a locked, loaded sysroot, releasing the lock however it ends. */
export async function withSysroot<T>(ctx: Context, fn: (s: Sysroot) => Promise<T>, lock = true): Promise<T> {
  const { sysroot, release } = await openSysroot(ctx, { lock });
  try {
    return await fn(sysroot);
  } finally {
    release();
  }
}

/**
 * Outside a booted system, commands that pick a stateroot need `--os`.
 * @throws ArborError SYSROOT "Not currently booted into an OSTree system and no --os= argument given"
 */
export async function requireBootedOrOs(sysroot: Sysroot, os: string | undefined): Promise<void> {
  if (!sysroot.booted && os === undefined) {
    const { ArborError } = await import("../../../errors.js");
    throw new ArborError("SYSROOT", "Not currently booted into an OSTree system and no --os= argument given");
  }
}

/** Callbacks printing library progress lines to stdout and notes to stderr. */
export function messages(ctx: Context): {
  onMessage: (l: string) => void;
  onNote: (l: string) => void;
  onStderr: (s: string) => void;
} {
  return {
    onMessage: (l) => ctx.out.write(`${l}\n`),
    onNote: (l) => ctx.err.write(`${l}\n`),
    onStderr: (s) => ctx.err.write(s),
  };
}

/**
 * Parse a deployment index as ostree's `atoi` would (leading digits; junk gives 0).
 */
export function parseIndex(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) : 0;
}
