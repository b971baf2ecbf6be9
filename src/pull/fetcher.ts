/**
 * The fetcher interface: how pull gets files from a remote (fact sheet §5.1). Paths are relative
 * to one of two bases — `url` (summary, config, refs, `.commitmeta`) or `content`
 * (`contenturl`, everything else under objects/, §5.3). Implementations: HTTP(S)
 * (fetcher-http.ts, on our HTTP/1.1 client or, through a proxy, undici) and `file://`
 * (fetcher-file.ts); tests inject their own.
 *
 * Contract:
 *  - 404 on an `optional` file resolves to null; any other failure rejects with ArborError
 *    NETWORK (transient failures already retried per {@link RetryPolicy}) or OBJECT_CORRUPT
 *    (more bytes than `maxBytes`).
 *  - No byte beyond `maxBytes` is ever buffered or passed on.
 */
import { ArborError, errnoCode } from "../errors.js";
import { LIBOSTREE_COMPAT_VERSION } from "../version.js";

/**
 * A pull's fetches in flight by default (object-puller.ts), and so the connections per origin
 * (fetcher-http.ts). 16 rather than ostree's 8: on the 2-core reference machine a full pull of
 * the Debian minbase tree from nginx on 127.0.0.1 took 3.96 s with 16 against 4.28 s with 8
 * (4.95 s with 4; 24 gained nothing), the thread pool getting larger batches of objects to write
 * per turn; peak RSS did not grow.
 */
export const PULL_CONCURRENCY = 16;

export { LIBOSTREE_COMPAT_VERSION };

/** The `User-Agent` of pulls, as libostree's (`--append-user-agent` adds to it). */
export const DEFAULT_USER_AGENT = `libostree/${LIBOSTREE_COMPAT_VERSION}`;

/** Largest remote `config` read (it is a few lines; anything bigger is not a repo config). */
export const MAX_REMOTE_CONFIG_SIZE = 64 * 1024;

/** Which base URL a path is relative to. */
export type FetchBase = "url" | "content";

export interface FetchOptions {
  /** 404 resolves to null instead of failing. */
  optional?: boolean;
  /** Refuse (OBJECT_CORRUPT) a body larger than this. */
  maxBytes?: number;
  /** Conditional request headers (summary caching). */
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  signal?: AbortSignal;
}

/** A fully read response. */
export interface Fetched {
  data: Uint8Array;
  /** 304: the cached copy is current (`data` is empty). */
  notModified: boolean;
  etag?: string;
  lastModified?: string;
}

/** A streamed response; the consumer must read it to the end or call `cancel`. */
export interface FetchedStream {
  body: AsyncIterable<Uint8Array>;
  /** Content-Length when the server sent one. */
  length?: number;
  cancel(): void;
}

export interface Fetcher {
  /** Human-readable location, for messages: the base URL. */
  readonly location: string;
  /**
   * True when the remote is a repository on this machine (`file://`): as ostree, `--http-trusted`
   * does not apply to it (trusted-content.ts).
   */
  readonly local?: boolean;
  /** Bytes of response bodies received so far. */
  readonly bytesTransferred: number;
  /** GET a whole file (retried on transient failures). */
  get(base: FetchBase, path: string, opts?: FetchOptions): Promise<Fetched | null>;
  /** GET a file as a stream (not retried: wrap the whole consumer in {@link Fetcher.retry}). */
  stream(base: FetchBase, path: string, opts?: FetchOptions): Promise<FetchedStream | null>;
  /** Run `op` with this fetcher's retry policy (for streamed downloads). */
  retry<T>(what: string, op: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  close(): Promise<void>;
}

/** How transient failures are retried. */
export interface RetryPolicy {
  /** Retries after the first attempt (`--network-retries`, default 5 as in OSTree). */
  retries: number;
  /** First backoff delay in ms; doubles each time up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, baseDelayMs: 200, maxDelayMs: 5000 };

/** An error a retry may cure: connection reset/refused mid-way, timeouts, 5xx, 408, 429. */
export class TransientError extends ArborError {
  constructor(message: string, cause?: unknown) {
    super("NETWORK", message, { cause });
  }
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH",
  "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
  "ERR_STREAM_PREMATURE_CLOSE",
  // http1-response.ts: a response that breaks HTTP/1.1 (a broken proxy or server; may pass)
  "ERR_HTTP_MALFORMED",
  "Z_BUF_ERROR",
]);

/** True if `e` is worth retrying. */
export function isTransient(e: unknown): boolean {
  if (e instanceof TransientError) return true;
  if (e instanceof ArborError) return false;
  const c = errnoCode(e);
  if (c && TRANSIENT_CODES.has(c)) return true;
  const cause = (e as { cause?: unknown })?.cause;
  return cause !== undefined && cause !== e && isTransient(cause);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ArborError("ABORTED", "Operation was cancelled"));
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new ArborError("ABORTED", "Operation was cancelled"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Run `op`, retrying transient failures with exponential backoff (and jitter).
 * @throws ArborError NETWORK after the last attempt, naming `what` and the attempts made.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  what: string,
  op: (attempt: number) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op(attempt);
    } catch (e) {
      if (signal?.aborted) throw new ArborError("ABORTED", "Operation was cancelled", { cause: e });
      if (!isTransient(e) || attempt >= policy.retries) {
        if (isTransient(e)) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new ArborError("NETWORK", `${what}: ${msg} (after ${attempt + 1} attempts)`, { cause: e });
        }
        throw e;
      }
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
      await sleep(delay / 2 + Math.random() * (delay / 2), signal);
    }
  }
}

/** Join a base URL and a relative path with exactly one slash. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
