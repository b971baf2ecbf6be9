/**
 * HTTP(S) fetcher: a keep-alive connection pool per origin with several requests in flight,
 * conditional GETs for the summary, transient failures retried with backoff, and every body
 * size-capped while it streams (a server cannot make us buffer more than an object may hold).
 * Direct connections use our HTTP/1.1 client (http1-client.ts); a `proxy` goes through undici
 * (undici-transport.ts), which is then the only time undici is loaded. TLS and proxy settings come
 * from the remote's config (`tls-permissive`, `tls-ca-path`, `tls-client-cert-path`/`-key-path`,
 * `proxy`); credentials in the URL become Basic auth.
 */
import { readFileSync } from "node:fs";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
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
  PULL_CONCURRENCY,
  type RetryPolicy,
  TransientError,
  withRetries,
} from "./fetcher.js";
import {
  checkHeader,
  Http1Client,
  type HttpResponse,
  type HttpTransport,
  type TlsOptions,
} from "./http1-client.js";
import { isResumablePath, PartialStore, type PartialWriter } from "./partial-download.js";
import type { ConnectionResettable } from "./undici-guard.js";
import { UndiciTransport } from "./undici-transport.js";

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
  /** Connections per origin (default: the puller's fetches in flight, PULL_CONCURRENCY). */
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

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/** The error for a body larger than the caller allows. */
function tooLarge(url: string, maxBytes: number): ArborError {
  return new ArborError(
    "OBJECT_CORRUPT",
    `Cannot fetch ${url}: URI ${url} exceeded maximum size of ${maxBytes} bytes`,
  );
}

/**
 * A response body as the fetcher hands it on: counted into `bytesTransferred`, capped at
 * `maxBytes`, for resumable paths prefixed with the bytes a previous attempt kept and kept in turn
 * if this transfer breaks (see partial-download.ts). A plain iterator object: one per body, no
 * generator or stream in between.
 */
class FetchBody implements AsyncIterator<Uint8Array, undefined> {
  /** Bytes handed on, the resumed prefix included. */
  private n = 0;
  private prefix: AsyncIterator<Buffer> | null = null;
  private keep: PartialWriter | null = null;
  private started = false;
  private finished = false;

  constructor(
    private readonly counter: { bytes: number },
    private readonly res: HttpResponse,
    private readonly url: string,
    private readonly maxBytes: number | undefined,
    private readonly resumeFrom: number,
    private readonly total: number | undefined,
    private readonly store: PartialStore | null,
    /** The partial file's key in `store` (see {@link PartialStore.key}). */
    private readonly key: string,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (this.finished) return Promise.resolve(DONE);
    if (!this.started) {
      this.started = true;
      this.keep = this.store?.writer(this.key) ?? null;
      if (this.resumeFrom > 0 && this.store) this.prefix = this.store.read(this.key);
    }
    if (this.prefix !== null) {
      return this.prefix.next().then(
        (r) => {
          if (r.done) {
            this.prefix = null;
            return this.next();
          }
          this.n += r.value.length;
          return r;
        },
        (e) => {
          this.res.body.abandon();
          this.finish(false);
          throw e;
        },
      );
    }
    return this.res.body.next().then(this.took, this.broke);
  }

  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.res.body.abandon();
    if (this.started) this.finish(false);
    this.finished = true;
    return Promise.resolve(DONE);
  }

  private readonly took = (r: IteratorResult<Buffer, undefined>): IteratorResult<Uint8Array, undefined> => {
    if (r.done) {
      this.finish(false);
      return DONE;
    }
    const chunk = r.value;
    this.n += chunk.length;
    this.counter.bytes += chunk.length;
    if (this.maxBytes !== undefined && this.n > this.maxBytes) {
      this.res.body.abandon();
      this.finish(false);
      throw tooLarge(this.url, this.maxBytes);
    }
    this.keep?.add(chunk);
    return r;
  };

  private readonly broke = (e: unknown): never => {
    this.res.body.abandon();
    if (e instanceof ArborError) {
      this.finish(false);
      throw e;
    }
    if (errnoCode(e) === "ERR_HTTP_BODY_TOO_LARGE" && this.maxBytes !== undefined) {
      this.finish(false);
      throw tooLarge(this.url, this.maxBytes);
    }
    this.finish(true);
    const of = this.total !== undefined ? ` of ${this.total}` : "";
    throw new TransientError(
      `Cannot fetch ${this.url}: Download incomplete (${this.n}${of} bytes): ${(e as Error).message}`,
      e,
    );
  };

  /** `broken`: the transfer failed and what was received is kept for resuming. */
  private finish(broken: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (broken) this.keep?.persist();
    this.keep?.close();
    // complete, or refused by the consumer: nothing to resume
    if (!broken && this.store) this.store.remove(this.key);
  }
}

/** An HTTP(S) {@link Fetcher}. */
export class HttpFetcher implements Fetcher {
  readonly location: string;
  private readonly bases: Record<FetchBase, Base>;
  private readonly transport: HttpTransport & Partial<ConnectionResettable>;
  private readonly headers: Record<string, string>;
  private readonly cookies: Cookie[];
  private readonly policy: RetryPolicy;
  private readonly partial: PartialStore | null;
  private readonly counter = { bytes: 0 };

  /** @throws ArborError BAD_CONFIG for a bad URL, an unsendable header or unreadable TLS files. */
  constructor(o: HttpFetcherOptions) {
    this.location = o.url;
    this.bases = { url: parseBase(o.url), content: parseBase(o.contentUrl ?? o.url) };
    this.policy = { ...DEFAULT_RETRY, ...o.retry };
    this.partial = o.partialDir ? new PartialStore(o.partialDir) : null;
    this.headers = {
      "user-agent": o.appendUserAgent ? `${DEFAULT_USER_AGENT} ${o.appendUserAgent}` : DEFAULT_USER_AGENT,
    };
    for (const [k, v] of o.headers ?? []) this.headers[k.toLowerCase()] = v;
    // refused here, before anything is sent, rather than at each request
    for (const k in this.headers) checkHeader(k, this.headers[k]!);
    this.cookies = o.cookies ?? [];
    const timeoutMs = o.timeoutMs ?? 30_000;
    const connections = o.connections ?? PULL_CONCURRENCY;
    const tls: TlsOptions = {
      rejectUnauthorized: !o.tlsPermissive,
      ca: readTls(o.tlsCaPath, "TLS CA file"),
      cert: readTls(o.tlsClientCertPath, "TLS client certificate"),
      key: readTls(o.tlsClientKeyPath, "TLS client key"),
    };
    this.transport = o.proxy
      ? new UndiciTransport({ proxy: o.proxy, connections, timeoutMs, tls })
      : new Http1Client({ connections, keepAliveTimeout: 30_000, timeoutMs, tls });
  }

  get bytesTransferred(): number {
    return this.counter.bytes;
  }

  retry<T>(what: string, op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetries(this.policy, what, op, signal);
  }

  /**
   * GET `url` (under base `b`), from byte `rangeFrom` of the partial file `key` if one is kept.
   * Resolves with a response to read (200, 304, or 206 for a range), or null for a 404 or 410 on
   * an optional file.
   */
  private async open(
    b: Base,
    url: string,
    opts: FetchOptions,
    rangeFrom: number,
    key: string | null,
  ): Promise<HttpResponse | null> {
    const headers: Record<string, string> = { ...this.headers };
    if (b.auth) headers.authorization = b.auth;
    const cookie = cookieHeader(this.cookies, url);
    if (cookie) headers.cookie = cookie;
    if (opts.ifNoneMatch) headers["if-none-match"] = opts.ifNoneMatch;
    if (opts.ifModifiedSince) headers["if-modified-since"] = opts.ifModifiedSince;
    if (rangeFrom > 0) headers.range = `bytes=${rangeFrom}-`;
    let res: HttpResponse;
    try {
      res = await this.transport.request(url, {
        headers,
        signal: opts.signal,
        // the client stops reading past the limit: no byte beyond it is buffered
        maxBodyBytes: opts.maxBytes !== undefined ? opts.maxBytes - rangeFrom : undefined,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw new ArborError("ABORTED", "Operation was cancelled", { cause: e });
      if (e instanceof ArborError) throw e;
      const code = errnoCode(e);
      if (code === "ERR_HTTP_TOO_MANY_REDIRECTS" || code === "ERR_HTTP_REDIRECT")
        throw new ArborError("NETWORK", `Cannot fetch ${url}: ${(e as Error).message}`, {
          cause: e,
          data: { url },
        });
      throw new TransientError(`Cannot fetch ${url}: ${(e as Error).message}`, e);
    }
    const code = res.statusCode;
    if (code === 206 && !String(res.headers["content-range"] ?? "").startsWith(`bytes ${rangeFrom}-`)) {
      res.body.dump();
      throw new TransientError(
        `Cannot fetch ${url}: unexpected Content-Range "${res.headers["content-range"]}"`,
      );
    }
    if (code === 416 && rangeFrom > 0) {
      res.body.dump();
      if (key !== null) this.partial?.remove(key);
      throw new TransientError(`Cannot fetch ${url}: Server returned HTTP 416 for a resumed download`);
    }
    if (code === 200 || code === 304 || (code === 206 && rangeFrom > 0)) {
      const len = Number(res.headers["content-length"]) + (code === 206 ? rangeFrom : 0);
      if (opts.maxBytes !== undefined && Number.isFinite(len) && len > opts.maxBytes) {
        res.body.abandon();
        throw tooLarge(url, opts.maxBytes);
      }
      return res;
    }
    res.body.dump();
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

  private async openBody(
    base: FetchBase,
    path: string,
    url: string,
    opts: FetchOptions,
  ): Promise<{ res: HttpResponse; body: FetchBody; length?: number } | null> {
    const store = this.partial !== null && isResumablePath(path) ? this.partial : null;
    const key = store !== null ? store.key(url) : null;
    let have = key !== null ? store!.size(key) : 0;
    if (opts.maxBytes !== undefined && have > opts.maxBytes) {
      store!.remove(key!);
      have = 0;
    }
    const res = await this.open(this.bases[base], url, opts, have, key);
    if (!res) {
      if (key !== null) store!.remove(key);
      return null;
    }
    if (have > 0 && res.statusCode !== 206) {
      // the server ignored the Range: start over
      store!.remove(key!);
      have = 0;
    }
    const len = Number(res.headers["content-length"]);
    const length = Number.isFinite(len) ? len + have : undefined;
    const body = new FetchBody(this.counter, res, url, opts.maxBytes, have, length, store, key ?? "");
    return { res, body, length };
  }

  async get(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<Fetched | null> {
    const url = joinUrl(this.bases[base].url, path);
    return this.retry(
      `Cannot fetch ${url}`,
      async () => {
        const o = await this.openBody(base, path, url, opts);
        if (!o) return null;
        const etag = o.res.headers.etag as string | undefined;
        const lastModified = o.res.headers["last-modified"] as string | undefined;
        if (o.res.statusCode === 304) {
          o.res.body.dump();
          return { data: new Uint8Array(0), notModified: true, etag, lastModified };
        }
        const parts: Uint8Array[] = [];
        let size = 0;
        for await (const c of o.body) {
          parts.push(c);
          size += c.length;
        }
        // one copy into a buffer of its own (the chunks are slices of larger socket reads)
        const data = new Uint8Array(size);
        let at = 0;
        for (const p of parts) {
          data.set(p, at);
          at += p.length;
        }
        return { data, notModified: false, etag, lastModified };
      },
      opts.signal,
    );
  }

  async stream(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<FetchedStream | null> {
    const o = await this.openBody(base, path, joinUrl(this.bases[base].url, path), opts);
    if (!o) return null;
    const body = o.body;
    return {
      body,
      length: o.length,
      // drops the connection if the body is not complete, and the partial file unless the
      // transfer broke
      cancel: () => void body.return(),
    };
  }

  /**
   * Abandon every connection and continue on fresh ones (proxied fetchers only: see
   * undici-transport.ts; the direct client has nothing to reset).
   */
  resetConnections(cause: Error): void {
    this.transport.resetConnections?.(cause);
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}
