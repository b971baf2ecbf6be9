/**
 * The HTTP transport of a remote reached through a `proxy`: undici's ProxyAgent (CONNECT
 * tunnels), behind the same {@link HttpTransport} interface as the direct client
 * (http1-client.ts). It is registered with the undici guard (undici-guard.ts) while open, so the
 * upstream assertion its HTTP/1 client can throw drops its connections instead of the process.
 */
import type { Dispatcher } from "undici";
import { TransientError } from "./fetcher.js";
import {
  type HttpResponse,
  type HttpTransport,
  MAX_TIMER_MS,
  type RequestOptions,
  type ResponseBody,
  type TlsOptions,
  transportOption,
} from "./http1-client.js";
import { MAX_DUMP } from "./http1-exchange.js";
import { guardConnections, unguardConnections } from "./undici-guard.js";
import { proxyAgent, request } from "./undici-lean.js";

export interface UndiciTransportOptions {
  proxy: string;
  connections: number;
  timeoutMs: number;
  tls: TlsOptions;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/** undici's body Readable as a {@link ResponseBody}. */
class UndiciBody implements ResponseBody {
  private it: AsyncIterator<Buffer> | null = null;

  constructor(private readonly res: Dispatcher.ResponseData) {}

  next(): Promise<IteratorResult<Buffer, undefined>> {
    this.it ??= (this.res.body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    return this.it.next();
  }

  return(): Promise<IteratorResult<Buffer, undefined>> {
    this.abandon();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Destroy the body without an unhandled 'error' event. */
  abandon(): void {
    this.res.body.on("error", () => {});
    this.res.body.destroy();
  }

  dump(): void {
    this.res.body.dump({ limit: MAX_DUMP }).catch(() => {});
  }
}

/** GETs through an HTTP proxy, on undici. */
export class UndiciTransport implements HttpTransport {
  private dispatcher: Dispatcher;
  private readonly makeDispatcher: () => Dispatcher;
  /** When the dispatcher was last replaced by {@link resetConnections} (ms). */
  private lastReset = 0;

  /** @throws ArborError BAD_CONFIG for `connections` or `timeoutMs` out of range (as Http1Client) */
  constructor(o: UndiciTransportOptions) {
    transportOption("connections", o.connections, 1, 1024);
    transportOption("timeoutMs", o.timeoutMs, 1, MAX_TIMER_MS);
    const connect = {
      rejectUnauthorized: o.tls.rejectUnauthorized ?? true,
      ca: o.tls.ca,
      cert: o.tls.cert,
      key: o.tls.key,
      timeout: o.timeoutMs,
    };
    const common = {
      connections: o.connections,
      keepAliveTimeout: 30_000,
      headersTimeout: o.timeoutMs,
      bodyTimeout: o.timeoutMs,
      connect,
    };
    this.makeDispatcher = () => proxyAgent({ uri: o.proxy, ...common });
    this.dispatcher = this.makeDispatcher();
    guardConnections(this);
  }

  async request(url: string, opts: RequestOptions): Promise<HttpResponse> {
    const res = await request(url, {
      dispatcher: this.dispatcher,
      method: "GET",
      headers: opts.headers,
      signal: opts.signal,
      maxRedirections: 5,
    });
    return { statusCode: res.statusCode, headers: res.headers, body: new UndiciBody(res) };
  }

  /**
   * Abandon every connection and continue on fresh ones: the requests in flight fail with a
   * transient error and are retried. Called by the undici guard after undici's HTTP/1 client threw
   * from a broken connection. A burst of such throws (the same socket's 'end' then 'close') resets
   * once.
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
