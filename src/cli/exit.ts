/**
 * From a thrown error to what the user sees and the exit code.
 *
 * | error                                  | stderr                                  | exit |
 * |----------------------------------------|-----------------------------------------|------|
 * | `ArborError` USAGE, ostree verb        | [help text, if asked] `error: <msg>`     | 1    |
 * | `ArborError` USAGE, arbor-only verb    | same                                     | 2    |
 * | any other `ArborError`                 | `error: <msg>`                           | 1    |
 * | `EPIPE` writing stdout (reader left)   | nothing                                  | 0    |
 * | anything else (a bug)                  | `error: <msg>`; the stack with ARBOR_DEBUG=1 | 1 |
 *
 * Why usage errors exit 1 for ostree verbs: ostree 2022.7 exits 1 for every failure, option
 * errors included (`ostree refs --bogus` → "error: Unknown option --bogus", status 1), and
 * scripts written against it check for exactly that. arbor's own verbs use the conventional 2.
 * Why EPIPE exits 0: `ostree ls -R big | head -1` exits 0 (its stdio write just fails); we match.
 */

import { ArborError, errnoCode, isArborError } from "../errors.js";
import type { Output } from "./output.js";

/** Exit code of a usage error in an ostree verb (ostree exits 1 for all failures). */
export const EXIT_USAGE_OSTREE = 1;
/** Exit code of a usage error in an arbor-only verb. */
export const EXIT_USAGE_NATIVE = 2;

/**
 * How a usage error shows the command's help before `error: <message>` on stderr:
 * `"help"` (the framework's own errors: no repository, no/unknown subcommand), `"help-gap"` (help,
 * a blank line, then the error: what ostree prints for a command's argument errors), `"none"`.
 */
export type UsageStyle = "none" | "help" | "help-gap";

/** A usage error (see {@link UsageStyle}). */
export function usageError(message: string, style: UsageStyle = "help"): ArborError {
  return new ArborError("USAGE", message, style === "none" ? undefined : { data: { showUsage: style } });
}

/** True if `e` (or any error in its `cause` chain) is an `EPIPE`. */
export function isBrokenPipe(e: unknown): boolean {
  for (let cur: unknown = e, depth = 0; cur !== undefined && cur !== null && depth < 16; depth++) {
    if (errnoCode(cur) === "EPIPE") return true;
    if (isArborError(cur) && cur.data?.errno === "EPIPE") return true;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return false;
}

/** Options for {@link reportError}. */
export interface ReportOptions {
  /** Where messages go (the context's stderr). */
  err: Output;
  /** Help text printed before usage errors that ask for it (`data.showUsage`). */
  usageText?: string;
  /** Exit code for usage errors: {@link EXIT_USAGE_OSTREE} (default) or {@link EXIT_USAGE_NATIVE}. */
  usageExitCode?: number;
  /** Print stacks (`ARBOR_DEBUG=1`). */
  debug?: boolean;
}

function stackOf(e: unknown): string {
  let s = "";
  for (let cur: unknown = e, depth = 0; cur instanceof Error && depth < 8; depth++) {
    s += `${depth === 0 ? "" : "Caused by: "}${cur.stack ?? String(cur)}\n`;
    cur = cur.cause;
  }
  return s;
}

/** Print `e` the way the CLI reports errors and return the exit code. Never throws. */
export function reportError(e: unknown, o: ReportOptions): number {
  if (isBrokenPipe(e)) return 0;
  try {
    if (e instanceof ArborError) {
      const show = e.code === "USAGE" ? e.data?.showUsage : undefined;
      if ((show === "help" || show === "help-gap") && o.usageText) {
        o.err.write(show === "help-gap" ? `${o.usageText}\n` : o.usageText);
      }
      o.err.write(`error: ${e.message}\n`);
      if (o.debug) o.err.write(stackOf(e));
      return e.code === "USAGE" ? (o.usageExitCode ?? EXIT_USAGE_OSTREE) : 1;
    }
    const message = e instanceof Error ? e.message : String(e);
    o.err.write(`error: ${message}\n`);
    if (o.debug) o.err.write(stackOf(e));
  } catch {
    // stderr is gone too: nothing left to tell anyone.
  }
  return 1;
}
