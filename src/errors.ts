/**
 * Typed errors. Every failure the library expects (bad input, missing objects, corruption,
 * locks, usage) is an {@link ArborError} with a literal `code`; anything else is a bug.
 *
 * Messages lead with the failed action, quote values, and put details after a colon:
 * `Cannot check out "usr/bin/x": object 3f2a… is corrupt: checksum mismatch`.
 */

export type ErrorCode =
  | "USAGE" // bad command line (exit 2)
  | "NOT_FOUND" // a file, ref, remote, deployment… that does not exist
  | "OBJECT_NOT_FOUND"
  | "OBJECT_CORRUPT" // bytes on disk or from the network do not match their name or format
  | "GVARIANT_INVALID" // malformed serialized GVariant
  | "BAD_NAME" // file name, ref, remote name, checksum that is not valid
  | "BAD_REF"
  | "BAD_CHECKSUM"
  | "BAD_CONFIG"
  | "UNSUPPORTED" // valid but not supported (unknown repo mode, feature not built…)
  | "EXISTS" // target exists (non-empty checkout dir, ref --create on existing ref…)
  | "PATH_ESCAPE" // a path would lead outside its root
  | "LOCKED"
  | "IO" // an operating-system error
  | "NO_SPACE"
  | "SIGNATURE_INVALID"
  | "SIGNATURE_MISSING"
  | "NETWORK"
  | "ETC_MERGE"
  | "SYSROOT"
  | "MANIFEST"
  | "CONFLICT"
  | "DRIFT"
  | "ABORTED";

/** An expected failure, with a machine-readable code and optional structured data. */
export class ArborError extends Error {
  readonly code: ErrorCode;
  readonly data?: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { data?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "ArborError";
    this.code = code;
    if (options?.data) this.data = options.data;
  }
}

/** True if `e` is an {@link ArborError} (optionally with the given code). */
export function isArborError(e: unknown, code?: ErrorCode): e is ArborError {
  return e instanceof ArborError && (code === undefined || e.code === code);
}

/** Node's system errors carry `code` like "ENOENT". */
export function errnoCode(e: unknown): string | undefined {
  if (e && typeof e === "object" && "code" in e && typeof (e as { code: unknown }).code === "string") {
    return (e as { code: string }).code;
  }
  return undefined;
}

/**
 * Wrap an operating-system error (or pass an ArborError through) with the action that failed.
 * `ENOSPC`/`EDQUOT` become `NO_SPACE`, `ENOENT` becomes `NOT_FOUND`, anything else `IO`.
 */
export function fromSystemError(action: string, e: unknown): ArborError {
  if (e instanceof ArborError) return withContext(action, e);
  const c = errnoCode(e);
  const detail = e instanceof Error ? e.message : String(e);
  const code: ErrorCode = c === "ENOSPC" || c === "EDQUOT" ? "NO_SPACE" : c === "ENOENT" ? "NOT_FOUND" : "IO";
  return new ArborError(code, `${action}: ${detail}`, { cause: e, data: c ? { errno: c } : undefined });
}

/** Prefix an error's message with context on the way up, keeping its code. */
export function withContext(context: string, e: unknown): ArborError {
  if (e instanceof ArborError) {
    const err = new ArborError(e.code, `${context}: ${e.message}`, { data: e.data, cause: e.cause ?? e });
    return err;
  }
  return fromSystemError(context, e);
}

/** Run `fn`; any error thrown gets `context` prefixed. */
export async function contextual<T>(context: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw withContext(context, e);
  }
}
