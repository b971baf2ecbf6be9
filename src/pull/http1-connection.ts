/**
 * One keep-alive HTTP/1.1 connection of the pull's client (http1-client.ts), carrying one
 * exchange (http1-exchange.ts) at a time: no pipelining.
 *
 * Invariants:
 *  - a connection goes back to its pool only once the response is complete, exactly: a response
 *    cut short, followed by stray bytes, or not allowing keep-alive closes the connection instead;
 *  - one inactivity timer per socket serves as connect timeout, headers timeout (with a check of
 *    the total wait as bytes arrive), body timeout, and keep-alive expiry while idle; it is off
 *    while the body's reader is behind (backpressure is not a stalled server);
 *  - a request that fails before any byte of its response, on a connection that had served
 *    earlier ones, is sent once more on a new connection: the server most likely closed the idle
 *    connection just as we wrote, and a GET is safe to repeat.
 */
import type { Socket } from "node:net";
import type { Exchange, ExchangeCarrier, ExchangeQueue } from "./http1-exchange.js";
import { HttpError, type ParserSink, type ResponseHead, ResponseParser } from "./http1-response.js";

/** What a connection reports to its per-origin pool. */
export interface ConnectionOwner extends ExchangeQueue {
  /** `c` completed a response and can carry another request. */
  released(c: Connection): void;
  /** `c` is closed (it is never used again). */
  closed(c: Connection): void;
  /** `ex` failed on a stale keep-alive connection (`ex.retried` is set): send it again, on a new connection. */
  retry(ex: Exchange): void;
}

/** Codes of a connection the server had closed while it sat idle in the pool. */
const STALE = new Set(["ECONNRESET", "EPIPE"]);

/** One socket to an origin, carrying one exchange at a time. */
export class Connection implements ParserSink, ExchangeCarrier {
  ex: Exchange | null = null;
  /** A response was completed on this connection (a failure now may be a stale connection). */
  private reused = false;
  private connected = false;
  /** A byte of the current response arrived. */
  private gotBytes = false;
  private paused = false;
  private destroyed = false;
  private idle = false;
  /** The socket's current inactivity timeout. */
  private timeout: number;
  private readonly parser = new ResponseParser(this);

  constructor(
    private readonly socket: Socket,
    private readonly owner: ConnectionOwner,
    private readonly timeoutMs: number,
    private readonly keepAliveMs: number,
    secure: boolean,
  ) {
    this.timeout = timeoutMs;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    // one inactivity timer for the connect, the wait for headers, the gaps in the body, and
    // (with keepAliveMs) the idle time in the pool
    socket.setTimeout(timeoutMs);
    socket.once(secure ? "secureConnect" : "connect", () => {
      this.connected = true;
    });
    socket.on("data", (b: Buffer) => this.onData(b));
    socket.on("end", () => this.onClosed());
    socket.on("close", () => this.onClosed());
    socket.on("error", (e: Error) => this.onError(e));
    socket.on("timeout", () => this.onTimeout());
  }

  /** Write `ex`'s request (before the socket is connected, it is queued until then). */
  send(ex: Exchange): void {
    this.ex = ex;
    ex.conn = this;
    this.gotBytes = false;
    if (this.idle) {
      this.idle = false;
      this.socket.ref();
      this.setTimeout(this.timeoutMs);
    }
    ex.sentAt = Date.now();
    this.socket.write(ex.request, "latin1");
  }

  /** Wait in the pool: never keeps the process alive, closed after `keepAliveMs`. */
  makeIdle(): void {
    this.idle = true;
    this.socket.unref();
    this.setTimeout(this.keepAliveMs);
  }

  /** Close the connection; its exchange, if any, fails with `err`. */
  kill(err: Error): void {
    const ex = this.ex;
    this.ex = null;
    this.destroy();
    if (ex) {
      ex.conn = null;
      ex.fail(err);
    }
  }

  /** `ex` is given up: close the connection if it still carries it. */
  abandon(ex: Exchange): void {
    if (this.ex !== ex) return;
    this.ex = null;
    ex.conn = null;
    this.destroy();
  }

  pauseReading(): void {
    if (this.paused) return;
    this.paused = true;
    // a consumer slower than the network is not a stalled server
    this.setTimeout(0);
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    this.setTimeout(this.timeoutMs);
    this.socket.resume();
  }

  onHead(head: ResponseHead): void {
    this.ex!.head(head);
  }

  onBody(chunk: Buffer): void {
    this.ex!.push(chunk);
  }

  private setTimeout(ms: number): void {
    // socket.setTimeout() makes a new timer each call: only when the value changes
    if (ms === this.timeout) return;
    this.timeout = ms;
    this.socket.setTimeout(ms);
  }

  private onData(chunk: Buffer): void {
    const ex = this.ex;
    if (ex === null) {
      // bytes nobody asked for: the connection is out of step with the server
      this.destroy();
      return;
    }
    this.gotBytes = true;
    let end: number;
    try {
      end = this.parser.execute(chunk);
      // the inactivity timer restarts with every byte: bound the whole wait for the head too
      if (this.parser.inHead && Date.now() - ex.sentAt > this.timeoutMs)
        throw new HttpError("ETIMEDOUT", `Headers timeout after ${this.timeoutMs} ms`);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    if (this.parser.done) this.complete(end < chunk.length);
  }

  /** The response is complete; `extra`: bytes followed it in the same chunk. */
  private complete(extra: boolean): void {
    const ex = this.ex!;
    this.ex = null;
    ex.conn = null;
    this.reused = true;
    const reuse = this.parser.keepAlive && !extra;
    this.parser.reset();
    this.resumeReading();
    ex.end();
    if (reuse) this.owner.released(this);
    else this.destroy();
  }

  private fail(err: Error): void {
    const ex = this.ex;
    this.ex = null;
    this.destroy();
    if (ex === null) return;
    ex.conn = null;
    const code = (err as { code?: string }).code ?? "";
    if (this.reused && !this.gotBytes && !ex.retried && STALE.has(code)) {
      ex.retried = true;
      this.owner.retry(ex);
      return;
    }
    ex.fail(err);
  }

  /** 'end' or 'close' from the socket. */
  private onClosed(): void {
    if (this.ex === null) {
      this.destroy();
      return;
    }
    // a body delimited by the end of the connection is complete now
    if (this.parser.finish()) {
      this.complete(false);
      return;
    }
    if (!this.gotBytes) {
      this.fail(new HttpError("ECONNRESET", "Connection closed by the server before the response"));
      return;
    }
    const part = this.parser.inHead ? "response head" : "body";
    this.fail(new HttpError("ERR_STREAM_PREMATURE_CLOSE", `Connection closed before the end of the ${part}`));
  }

  private onError(e: Error): void {
    if (this.ex !== null) this.fail(e);
    else this.destroy();
  }

  private onTimeout(): void {
    if (this.ex === null) {
      this.destroy(); // idle past the keep-alive timeout
      return;
    }
    const what = !this.connected
      ? "Connect timeout"
      : this.parser.inHead
        ? "Headers timeout"
        : "Body timeout: no data";
    this.fail(new HttpError("ETIMEDOUT", `${what} after ${this.timeoutMs} ms`));
  }

  private destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.socket.destroy();
    this.owner.closed(this);
  }
}
