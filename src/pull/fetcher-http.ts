/**
 * HTTP(S) fetcher on undici: one keep-alive connection pool per origin with several requests in
 * flight, conditional GETs for the summary, transient failures retried with backoff, and every
 * body size-capped while it streams (a server cannot make us buffer more than an object may
 * hold). TLS and proxy settings come from the remote's config (`tls-permissive`, `tls-ca-path`,
 * `tls-client-cert-path`/`-key-path`, `proxy`); credentials in the URL become Basic auth.
 */
import { readFileSync } from "node:fs";
import { Agent, type Dispatcher, ProxyAgent, request } from "undici";
import { ArborError, fromSystemError } from "../errors.js";
import {
  DEFAULT_RETRY,
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

export interface HttpFetcherOptions {
  url: string;
  /** Defaults to `url`. */
  contentUrl?: string;
  /** Extra request headers (`--http-header K=V`). */
  headers?: Array<[string, string]>;
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
  private readonly dispatcher: Dispatcher;
  private readonly headers: Record<string, string>;
  private readonly policy: RetryPolicy;
  private transferred = 0;

  /** @throws ArborError BAD_CONFIG for a bad URL or unreadable TLS files. */
  constructor(o: HttpFetcherOptions) {
    this.location = o.url;
    this.bases = { url: parseBase(o.url), content: parseBase(o.contentUrl ?? o.url) };
    this.policy = { ...DEFAULT_RETRY, ...o.retry };
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
    this.dispatcher = o.proxy ? new ProxyAgent({ uri: o.proxy, ...common }) : new Agent(common);
    this.headers = { "user-agent": "arbor (libostree-compatible)" };
    for (const [k, v] of o.headers ?? []) this.headers[k.toLowerCase()] = v;
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
  ): Promise<Dispatcher.ResponseData | null> {
    const b = this.bases[base];
    const url = joinUrl(b.url, path);
    const headers: Record<string, string> = { ...this.headers };
    if (b.auth) headers.authorization = b.auth;
    if (opts.ifNoneMatch) headers["if-none-match"] = opts.ifNoneMatch;
    if (opts.ifModifiedSince) headers["if-modified-since"] = opts.ifModifiedSince;
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
    if (code === 200 || code === 304) {
      const len = Number(res.headers["content-length"]);
      if (opts.maxBytes !== undefined && Number.isFinite(len) && len > opts.maxBytes) {
        discard(res);
        throw new ArborError(
          "OBJECT_CORRUPT",
          `Cannot fetch ${url}: server announces ${len} bytes, more than the ${opts.maxBytes} this file may hold`,
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

  private capped(
    res: Dispatcher.ResponseData,
    url: string,
    maxBytes: number | undefined,
  ): AsyncIterable<Uint8Array> {
    const self = this;
    return {
      async *[Symbol.asyncIterator]() {
        let n = 0;
        try {
          for await (const chunk of res.body as AsyncIterable<Buffer>) {
            n += chunk.length;
            self.transferred += chunk.length;
            if (maxBytes !== undefined && n > maxBytes) {
              throw new ArborError(
                "OBJECT_CORRUPT",
                `Cannot fetch ${url}: server sent more than the ${maxBytes} bytes this file may hold`,
              );
            }
            yield chunk;
          }
        } catch (e) {
          discard(res);
          if (e instanceof ArborError) throw e;
          throw new TransientError(`Cannot fetch ${url}: ${(e as Error).message}`, e);
        }
      },
    };
  }

  async get(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<Fetched | null> {
    const url = joinUrl(this.bases[base].url, path);
    return this.retry(
      `Cannot fetch ${url}`,
      async () => {
        const res = await this.open(base, path, opts);
        if (!res) return null;
        const etag = res.headers.etag as string | undefined;
        const lastModified = res.headers["last-modified"] as string | undefined;
        if (res.statusCode === 304) {
          drop(res);
          return { data: new Uint8Array(0), notModified: true, etag, lastModified };
        }
        const parts: Buffer[] = [];
        for await (const c of this.capped(res, url, opts.maxBytes)) parts.push(c as Buffer);
        return { data: new Uint8Array(Buffer.concat(parts)), notModified: false, etag, lastModified };
      },
      opts.signal,
    );
  }

  async stream(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<FetchedStream | null> {
    const url = joinUrl(this.bases[base].url, path);
    const res = await this.open(base, path, opts);
    if (!res) return null;
    const len = Number(res.headers["content-length"]);
    return {
      body: this.capped(res, url, opts.maxBytes),
      length: Number.isFinite(len) ? len : undefined,
      cancel: () => discard(res),
    };
  }

  async close(): Promise<void> {
    await this.dispatcher.close().catch(() => {});
  }
}
