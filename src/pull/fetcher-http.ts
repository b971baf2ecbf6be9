/**
 * HTTP(S) fetcher on undici: one keep-alive connection pool per origin with several requests in
 * flight, conditional GETs for the summary, transient failures retried with backoff, and every
 * body size-capped while it streams (a server cannot make us buffer more than an object may
 * hold). TLS and proxy settings come from the remote's config (`tls-permissive`, `tls-ca-path`,
 * `tls-client-cert-path`/`-key-path`, `proxy`); credentials in the URL become Basic auth.
 */
import { readFileSync } from "node:fs";
import type { Dispatcher } from "undici";
import { ArborError, fromSystemError } from "../errors.js";
import { type Cookie, cookieHeader } from "./cookies.js";
import {
  DEFAULT_RETRY,
  DEFAULT_USER_AGENT,
  type FetchBase,
  type Fetched,
  type FetchedStream,
  type Fetcher,
  type FetchOptions,
  joinUrl,
  type RetryPolicy,
  TransientError,
  withRetries,
} from "./fetcher.js";
import { isResumablePath, PartialStore } from "./partial-download.js";
import { guardConnections, unguardConnections } from "./undici-guard.js";
import { Agent, proxyAgent, request } from "./undici-lean.js";

export interface HttpFetcherOptions {
  url: string;
  /** Defaults to `url`. */
  contentUrl?: string;
  /** Extra request headers (`--http-header K=V`). */
  headers?: Array<[string, string]>;
  /** Cookies sent with the requests whose URL they match (the remote's cookie jar). */
  cookies?: Cookie[];
  /** Text appended to the `User-Agent` (`--append-user-agent`). */
  appendUserAgent?: string;
  tlsPermissive?: boolean;
  tlsCaPath?: string;
  tlsClientCertPath?: string;
  tlsClientKeyPath?: string;
  proxy?: string;
  retry?: Partial<RetryPolicy>;
  /** Connection, header and inter-chunk timeout in ms (default 30 s, like OSTree's low-speed limit). */
  timeoutMs?: number;
  /** Connections per origin (default 8). */
  connections?: number;
  /** Where interrupted object downloads are kept for resuming (e.g. the repo's tmp/); none = no resume. */
  partialDir?: string;
}

interface Base {
  url: string;
  auth?: string;
}

function parseBase(u: string): Base {
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new ArborError("BAD_CONFIG", `Invalid URL "${u}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new ArborError("BAD_CONFIG", `Invalid URI scheme in ${u}`);
  }
  let auth: string | undefined;
  if (parsed.username || parsed.password) {
    auth = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString("base64")}`;
    parsed.username = "";
    parsed.password = "";
  }
  return { url: parsed.toString(), auth };
}

function readTls(path: string | undefined, what: string): Buffer | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw fromSystemError(`Cannot read ${what} "${path}"`, e);
  }
}

/** Abandon a response body without an unhandled 'error' event. */
function discard(res: Dispatcher.ResponseData): void {
  res.body.on("error", () => {});
  res.body.destroy();
}

/** Read and drop a small error body so the connection can be reused. */
function drop(res: Dispatcher.ResponseData): void {
  res.body.dump({ limit: 64 * 1024 }).catch(() => {});
}

/** An HTTP(S) {@link Fetcher}. */
export class HttpFetcher implements Fetcher {
  readonly location: string;
  private readonly bases: Record<FetchBase, Base>;
  private dispatcher: Dispatcher;
  private readonly makeDispatcher: () => Dispatcher;
  /** When the dispatcher was last replaced by {@link resetConnections} (ms). */
  private lastReset = 0;
  private readonly headers: Record<string, string>;
  private readonly cookies: Cookie[];
  private readonly policy: RetryPolicy;
  private readonly partial: PartialStore | null;
  private transferred = 0;

  /** @throws ArborError BAD_CONFIG for a bad URL or unreadable TLS files. */
  constructor(o: HttpFetcherOptions) {
    this.location = o.url;
    this.bases = { url: parseBase(o.url), content: parseBase(o.contentUrl ?? o.url) };
    this.policy = { ...DEFAULT_RETRY, ...o.retry };
    this.partial = o.partialDir ? new PartialStore(o.partialDir) : null;
    const timeout = o.timeoutMs ?? 30_000;
    const connect = {
      rejectUnauthorized: !o.tlsPermissive,
      ca: readTls(o.tlsCaPath, "TLS CA file"),
      cert: readTls(o.tlsClientCertPath, "TLS client certificate"),
      key: readTls(o.tlsClientKeyPath, "TLS client key"),
      timeout,
    };
    const common = {
      connections: o.connections ?? 8,
      keepAliveTimeout: 30_000,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      connect,
    };
    this.makeDispatcher = () => (o.proxy ? proxyAgent({ uri: o.proxy, ...common }) : new Agent(common));
    this.dispatcher = this.makeDispatcher();
    guardConnections(this);
    this.headers = {
      "user-agent": o.appendUserAgent ? `${DEFAULT_USER_AGENT} ${o.appendUserAgent}` : DEFAULT_USER_AGENT,
    };
    for (const [k, v] of o.headers ?? []) this.headers[k.toLowerCase()] = v;
    this.cookies = o.cookies ?? [];
  }

  get bytesTransferred(): number {
    return this.transferred;
  }

  retry<T>(what: string, op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetries(this.policy, what, op, signal);
  }

  private async open(
    base: FetchBase,
    path: string,
    opts: FetchOptions,
    rangeFrom = 0,
  ): Promise<Dispatcher.ResponseData | null> {
    const b = this.bases[base];
    const url = joinUrl(b.url, path);
    const headers: Record<string, string> = { ...this.headers };
    if (b.auth) headers.authorization = b.auth;
    const cookie = cookieHeader(this.cookies, url);
    if (cookie) headers.cookie = cookie;
    if (opts.ifNoneMatch) headers["if-none-match"] = opts.ifNoneMatch;
    if (opts.ifModifiedSince) headers["if-modified-since"] = opts.ifModifiedSince;
    if (rangeFrom > 0) headers.range = `bytes=${rangeFrom}-`;
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        dispatcher: this.dispatcher,
        method: "GET",
        headers,
        signal: opts.signal,
        maxRedirections: 5,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw new ArborError("ABORTED", "Operation was cancelled", { cause: e });
      throw new TransientError(`Cannot fetch ${url}: ${(e as Error).message}`, e);
    }
    const code = res.statusCode;
    if (code === 206 && !String(res.headers["content-range"] ?? "").startsWith(`bytes ${rangeFrom}-`)) {
      drop(res);
      throw new TransientError(
        `Cannot fetch ${url}: unexpected Content-Range "${res.headers["content-range"]}"`,
      );
    }
    if (code === 416 && rangeFrom > 0) {
      drop(res);
      this.partial?.remove(url);
      throw new TransientError(`Cannot fetch ${url}: Server returned HTTP 416 for a resumed download`);
    }
    if (code === 200 || code === 304 || (code === 206 && rangeFrom > 0)) {
      const len = Number(res.headers["content-length"]) + (code === 206 ? rangeFrom : 0);
      if (opts.maxBytes !== undefined && Number.isFinite(len) && len > opts.maxBytes) {
        discard(res);
        throw new ArborError(
          "OBJECT_CORRUPT",
          `Cannot fetch ${url}: URI ${url} exceeded maximum size of ${opts.maxBytes} bytes`,
        );
      }
      return res;
    }
    drop(res);
    if (code === 404 || code === 410) {
      if (opts.optional) return null;
      throw new ArborError("NOT_FOUND", `Cannot fetch ${url}: Server returned HTTP ${code}`, {
        data: { url, status: code },
      });
    }
    const msg = `Cannot fetch ${url}: Server returned HTTP ${code}`;
    if (code >= 500 || code === 408 || code === 429) throw new TransientError(msg);
    throw new ArborError("NETWORK", msg, { data: { url, status: code } });
  }

  /**
   * The body, size-capped; for resumable paths prefixed with the bytes a previous attempt kept, and
   * kept in turn if this transfer breaks (see partial-download.ts).
   */
  private body(
    res: Dispatcher.ResponseData,
    url: string,
    maxBytes: number | undefined,
    resumeFrom: number,
    total: number | undefined,
    store: PartialStore | null,
  ): AsyncIterable<Uint8Array> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        let n = 0;
        let broken = false;
        const keep = store?.writer(url) ?? null;
        try {
          if (resumeFrom > 0 && store) {
            for await (const c of store.read(url)) {
              n += c.length;
              yield c;
            }
          }
          try {
            for await (const chunk of res.body as AsyncIterable<Buffer>) {
              n += chunk.length;
              self.transferred += chunk.length;
              if (maxBytes !== undefined && n > maxBytes) {
                throw new ArborError(
                  "OBJECT_CORRUPT",
                  `Cannot fetch ${url}: URI ${url} exceeded maximum size of ${maxBytes} bytes`,
                );
              }
              keep?.add(chunk);
              yield chunk;
            }
          } catch (e) {
            discard(res);
            if (e instanceof ArborError) throw e;
            broken = true;
            keep?.persist();
            const of = total !== undefined ? ` of ${total}` : "";
            throw new TransientError(
              `Cannot fetch ${url}: Download incomplete (${n}${of} bytes): ${(e as Error).message}`,
              e,
            );
          }
        } finally {
          keep?.close();
          // complete, or refused by the consumer: nothing to resume
          if (!broken && store) store.remove(url);
        }
      },
    };
  }

  private async openBody(
    base: FetchBase,
    path: string,
    opts: FetchOptions,
  ): Promise<{ res: Dispatcher.ResponseData; body: AsyncIterable<Uint8Array>; length?: number } | null> {
    const url = joinUrl(this.bases[base].url, path);
    const resumable = this.partial !== null && isResumablePath(path);
    let have = resumable ? this.partial!.size(url) : 0;
    if (opts.maxBytes !== undefined && have > opts.maxBytes) {
      this.partial!.remove(url);
      have = 0;
    }
    const res = await this.open(base, path, opts, have);
    if (!res) {
      if (resumable) this.partial!.remove(url);
      return null;
    }
    if (have > 0 && res.statusCode !== 206) {
      // the server ignored the Range: start over
      this.partial!.remove(url);
      have = 0;
    }
    const len = Number(res.headers["content-length"]);
    const length = Number.isFinite(len) ? len + have : undefined;
    const body = this.body(res, url, opts.maxBytes, have, length, resumable ? this.partial : null);
    return { res, body, length };
  }

  async get(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<Fetched | null> {
    const url = joinUrl(this.bases[base].url, path);
    return this.retry(
      `Cannot fetch ${url}`,
      async () => {
        const o = await this.openBody(base, path, opts);
        if (!o) return null;
        const etag = o.res.headers.etag as string | undefined;
        const lastModified = o.res.headers["last-modified"] as string | undefined;
        if (o.res.statusCode === 304) {
          drop(o.res);
          return { data: new Uint8Array(0), notModified: true, etag, lastModified };
        }
        const parts: Buffer[] = [];
        for await (const c of o.body) parts.push(c as Buffer);
        return { data: new Uint8Array(Buffer.concat(parts)), notModified: false, etag, lastModified };
      },
      opts.signal,
    );
  }

  async stream(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<FetchedStream | null> {
    const o = await this.openBody(base, path, opts);
    if (!o) return null;
    const it = o.body[Symbol.asyncIterator]();
    return {
      body: { [Symbol.asyncIterator]: () => it },
      length: o.length,
      cancel: () => {
        discard(o.res);
        // runs the body's cleanup (drops the partial file unless the transfer broke)
        void it.return?.();
      },
    };
  }

  /**
   * Abandon every connection and continue on fresh ones: the requests in flight fail with a
   * transient error and are retried. Called by the undici guard (undici-guard.ts) after undici's
   * HTTP/1 client threw from a broken connection. A burst of such throws (the same socket's 'end'
   * then 'close') resets once.
   */
  resetConnections(cause: Error): void {
    const now = Date.now();
    if (now - this.lastReset < 1000) return;
    this.lastReset = now;
    const old = this.dispatcher;
    this.dispatcher = this.makeDispatcher();
    const err = new TransientError(`HTTP connection reset after a client fault: ${cause.message}`, cause);
    old.destroy(err).catch(() => {});
  }

  async close(): Promise<void> {
    unguardConnections(this);
    await this.dispatcher.close().catch(() => {});
  }
}
