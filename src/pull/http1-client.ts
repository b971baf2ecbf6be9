/**
 * The HTTP/1.1 client of `pull` for direct (non-proxy) connections, on `node:net` and `node:tls`.
 *
 * Why not undici: a pull is thousands of small GETs on loopback or a LAN, and undici's per-request
 * machinery (dispatcher and handler chain, a Readable per body, an async generator over it)
 * costs ~0.2 ms of main-thread CPU per request, plus ~0.1 s to load at every start. This client
 * does only what a pull needs: GET, keep-alive pools per origin, redirects, timeouts, and one
 * object per request that is both the exchange and its body iterator (http1-exchange.ts), carried
 * by a connection (http1-connection.ts) that parses with a strict hand-written response parser
 * (http1-response.ts). Proxies still go through undici (undici-transport.ts).
 *
 * Per origin (scheme, host, port): at most `connections` sockets, each carrying one request at a
 * time; requests beyond that wait in line. Idle sockets are unref'd (they never keep the process
 * alive) and closed after `keepAliveTimeout`. Redirects (301, 302, 303, 307, 308) are followed up
 * to `maxRedirections` times, to any http(s) origin; credentials (`authorization`, `cookie`) are
 * not sent to another origin.
 */
import { createRequire } from "node:module";
import { isIP, connect as netConnect } from "node:net";
import type * as Tls from "node:tls";
import { ArborError } from "../errors.js";
import { Connection, type ConnectionOwner } from "./http1-connection.js";
import { Exchange, type HttpResponse } from "./http1-exchange.js";
import { HttpError, malformed } from "./http1-response.js";

export type { HttpResponse, ResponseBody } from "./http1-exchange.js";
export { HttpError } from "./http1-response.js";

/** TLS settings for `https:` origins. */
export interface TlsOptions {
  /** Trusted CA certificates (PEM); when absent, Node's (its bundled roots and NODE_EXTRA_CA_CERTS). */
  ca?: Buffer;
  /** Client certificate and key (PEM). */
  cert?: Buffer;
  key?: Buffer;
  /** Refuse servers whose certificate does not verify (default true). */
  rejectUnauthorized?: boolean;
}

export interface Http1ClientOptions {
  /** Sockets per origin (default 8). */
  connections?: number;
  /** Idle sockets are closed after this many ms (default 30 s). */
  keepAliveTimeout?: number;
  /** Connect timeout, wait for the response head, and longest gap in a body, in ms (default 30 s). */
  timeoutMs?: number;
  /** Redirects followed per request (default 5). */
  maxRedirections?: number;
  tls?: TlsOptions;
}

export interface RequestOptions {
  /** Request header fields; names are sent as given (lower case by convention). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** The body fails with ERR_HTTP_BODY_TOO_LARGE once it exceeds this (no byte beyond is kept). */
  maxBodyBytes?: number;
}

/** What HttpFetcher needs from an HTTP client: this one, or undici's for proxies. */
export interface HttpTransport {
  /** A GET of `url`: resolves with the final response's head; read or drop its body. */
  request(url: string, opts: RequestOptions): Promise<HttpResponse>;
  close(): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Anything but HT, visible ASCII and latin1 text: CR and LF above all (no request smuggling). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** Fields this client sets itself, or that would change the framing of the request. */
const RESERVED = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "te",
]);
/** Fields not sent to another origin after a redirect. */
const CREDENTIALS = new Set(["authorization", "cookie", "proxy-authorization"]);

const load = createRequire(import.meta.url);
let tlsModule: typeof Tls | undefined;

/** node:tls, loaded with the first https: connection (a plain-http pull never needs it). */
function tls(): typeof Tls {
  if (tlsModule === undefined) tlsModule = load("node:tls") as typeof Tls;
  return tlsModule;
}

/**
 * Refuse a request header that could not be sent as one field: a name that is not a token or is
 * one this client sets, a value with CR, LF or another control character (a value from a config
 * file must not be able to add fields or a second request).
 * @throws ArborError BAD_CONFIG
 */
export function checkHeader(name: string, value: string): void {
  if (!TOKEN.test(name) || RESERVED.has(name.toLowerCase()))
    throw new ArborError(
      "BAD_CONFIG",
      `Cannot send HTTP header ${JSON.stringify(name)}: invalid or reserved name`,
    );
  if (BAD_VALUE.test(value))
    throw new ArborError(
      "BAD_CONFIG",
      `Cannot send HTTP header "${name}": its value contains CR, LF or another control character`,
    );
}

/**
 * The bytes of a GET of `u` with `headers`.
 * @throws ArborError BAD_CONFIG for a header {@link checkHeader} refuses
 */
function requestText(u: URL, headers: Record<string, string>): string {
  let host = u.host;
  let fields = "";
  for (const name in headers) {
    const value = headers[name]!;
    checkHeader(name, value);
    if (name.toLowerCase() === "host") host = value;
    else fields += `${name}: ${value}\r\n`;
  }
  return `GET ${u.pathname}${u.search} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n${fields}\r\n`;
}

function parseTarget(url: string, base?: URL): URL {
  let u: URL;
  try {
    u = new URL(url, base);
  } catch {
    if (base) throw malformed(`invalid Location ${JSON.stringify(url)}`);
    throw new ArborError("BAD_CONFIG", `Invalid URL "${url}"`);
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") {
    if (base) throw new HttpError("ERR_HTTP_REDIRECT", `Redirect to unsupported URL "${u.href}"`);
    throw new ArborError("BAD_CONFIG", `Invalid URI scheme in ${url}`);
  }
  return u;
}

function withoutCredentials(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) if (!CREDENTIALS.has(name.toLowerCase())) out[name] = headers[name]!;
  return out;
}

/** The sockets of one origin and the requests waiting for one. */
class OriginPool implements ConnectionOwner {
  private readonly idle: Connection[] = [];
  private readonly waiting: Exchange[] = [];
  private readonly all = new Set<Connection>();
  private closing = false;

  constructor(
    private readonly client: Http1Client,
    private readonly host: string,
    private readonly port: number,
    private readonly secure: boolean,
  ) {}

  /** Send `ex` on an idle socket, a new one, or when one is free. */
  dispatch(ex: Exchange): void {
    ex.owner = this;
    if (!ex.retried) {
      // the most recently used socket: the others may then expire
      const c = this.idle.pop();
      if (c !== undefined) {
        c.send(ex);
        return;
      }
    }
    if (this.all.size < this.client.connections) this.open().send(ex);
    else this.waiting.push(ex);
  }

  released(c: Connection): void {
    const next = this.waiting[0];
    if (next === undefined) {
      this.idle.push(c);
      c.makeIdle();
    } else if (next.retried) {
      c.kill(new HttpError("ECONNABORTED", "Connection replaced")); // closed() opens one for `next`
    } else {
      this.waiting.shift();
      c.send(next);
    }
  }

  closed(c: Connection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
    const next = this.closing ? undefined : this.waiting.shift();
    if (next !== undefined) this.open().send(next);
  }

  retry(ex: Exchange): void {
    this.dispatch(ex); // `ex.retried` is set: on a new connection
  }

  dequeue(ex: Exchange): void {
    const i = this.waiting.indexOf(ex);
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** Close every socket; requests waiting or in flight fail with `err`. */
  close(err: Error): void {
    this.closing = true;
    for (const ex of this.waiting.splice(0)) ex.fail(err);
    for (const c of [...this.all]) c.kill(err);
  }

  private open(): Connection {
    const { timeoutMs, keepAliveTimeout } = this.client;
    const socket = this.secure
      ? tls().connect({
          host: this.host,
          port: this.port,
          // SNI carries a host name, never an address
          servername: isIP(this.host) ? undefined : this.host,
          secureContext: this.client.secureContext(),
          rejectUnauthorized: this.client.tls.rejectUnauthorized ?? true,
          ALPNProtocols: ["http/1.1"],
        })
      : netConnect({ host: this.host, port: this.port });
    const c = new Connection(socket, this, timeoutMs, keepAliveTimeout, this.secure);
    this.all.add(c);
    return c;
  }
}

/**
 * A keep-alive HTTP/1.1 client (see the file comment).
 * @example
 * const client = new Http1Client({ timeoutMs: 10_000 });
 * const res = await client.request("http://127.0.0.1:8080/config", { headers: { "user-agent": "x" } });
 * for await (const chunk of res.body) process.stdout.write(chunk);
 * await client.close();
 */
/** The longest delay Node's timers take (a longer one fires at once, with a warning). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A transport's numeric option: `value` when it is an integer in [min, max]; else BAD_CONFIG
 * naming the option (this client and UndiciTransport check theirs with it).
 */
export function transportOption(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ArborError(
      "BAD_CONFIG",
      `HTTP client: ${name} must be an integer from ${min} to ${max}, not ${value}`,
    );
  }
  return value;
}

export class Http1Client implements HttpTransport {
  readonly connections: number;
  readonly keepAliveTimeout: number;
  readonly timeoutMs: number;
  readonly maxRedirections: number;
  readonly tls: TlsOptions;
  private readonly pools = new Map<string, OriginPool>();
  private context: Tls.SecureContext | undefined;
  private isClosed = false;

  /** @throws ArborError BAD_CONFIG for an option out of its range (named in the message) */
  constructor(o: Http1ClientOptions = {}) {
    this.connections = transportOption("connections", o.connections ?? 8, 1, 1024);
    this.keepAliveTimeout = transportOption(
      "keepAliveTimeout",
      o.keepAliveTimeout ?? 30_000,
      1,
      MAX_TIMER_MS,
    );
    this.timeoutMs = transportOption("timeoutMs", o.timeoutMs ?? 30_000, 1, MAX_TIMER_MS);
    this.maxRedirections = transportOption("maxRedirections", o.maxRedirections ?? 5, 0, 100);
    this.tls = o.tls ?? {};
  }

  /**
   * GET `url`, following redirects. Resolves with the final response's head; its body must be
   * read to the end, or abandoned or dumped.
   * @throws ArborError BAD_CONFIG for an invalid URL or header (nothing is sent)
   * @throws HttpError with `code`: system codes (ECONNREFUSED, ECONNRESET…), ETIMEDOUT,
   *   ERR_HTTP_MALFORMED, ERR_STREAM_PREMATURE_CLOSE (before the head), ERR_HTTP_TOO_MANY_REDIRECTS,
   *   ERR_HTTP_REDIRECT (to a non-http(s) URL), ABORT_ERR, ERR_HTTP_CLIENT_CLOSED; the body's
   *   iterator rejects with the same codes, or ERR_HTTP_BODY_TOO_LARGE
   */
  async request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
    let u = parseTarget(url);
    let headers = opts.headers ?? {};
    for (let hops = 0; ; hops++) {
      const res = await this.send(u, headers, opts);
      const location = REDIRECTS.has(res.statusCode) ? res.headers.location : undefined;
      if (typeof location !== "string") return res;
      res.body.dump();
      if (hops >= this.maxRedirections)
        throw new HttpError(
          "ERR_HTTP_TOO_MANY_REDIRECTS",
          `Too many redirects (more than ${this.maxRedirections}), the last to "${location}"`,
        );
      const next = parseTarget(location, u);
      if (next.origin !== u.origin) headers = withoutCredentials(headers);
      u = next;
    }
  }

  /** Close every connection; requests in flight fail (ERR_HTTP_CLIENT_CLOSED). */
  async close(): Promise<void> {
    this.isClosed = true;
    const err = new HttpError("ERR_HTTP_CLIENT_CLOSED", "HTTP client closed");
    for (const p of this.pools.values()) p.close(err);
    this.pools.clear();
  }

  /** One TLS context for every connection (parsing CA and key files per connection costs). */
  secureContext(): Tls.SecureContext {
    if (!this.context) {
      const { ca, cert, key } = this.tls;
      this.context = tls().createSecureContext({ ca, cert, key });
    }
    return this.context;
  }

  private send(u: URL, headers: Record<string, string>, opts: RequestOptions): Promise<HttpResponse> {
    if (this.isClosed) throw new HttpError("ERR_HTTP_CLIENT_CLOSED", "HTTP client closed");
    if (opts.signal?.aborted)
      throw new HttpError("ABORT_ERR", "Request aborted", { cause: opts.signal.reason });
    const ex = new Exchange(
      requestText(u, headers),
      opts.signal,
      opts.maxBodyBytes ?? Number.POSITIVE_INFINITY,
    );
    const secure = u.protocol === "https:";
    const key = secure ? `s:${u.host}` : u.host;
    let pool = this.pools.get(key);
    if (pool === undefined) {
      // URL keeps the brackets of an IPv6 address; sockets want it bare
      const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
      const port = u.port ? Number(u.port) : secure ? 443 : 80;
      pool = new OriginPool(this, host, port, secure);
      this.pools.set(key, pool);
    }
    pool.dispatch(ex);
    return ex.response;
  }
}
