/**
 * One request of the pull's HTTP/1.1 client (http1-client.ts) and its response: the head, and
 * the body as an async iterator. The connection carrying it is in http1-connection.ts.
 *
 * Invariants:
 *  - the body is handed on as the slices the parser cut from the socket's chunks (no copies),
 *    queued until read; above {@link HIGH_WATER} unread bytes the socket is paused, so a consumer
 *    slower than the network never makes us hold a whole large object;
 *  - a body abandoned before its end closes its connection (a half-read response must never be
 *    followed by the next request's); one dropped with `dump()` is read to its end if small
 *    (≤ {@link MAX_DUMP}), so its connection can be reused;
 *  - chunks received before a failure are delivered, then the failure.
 */
import { HttpError, type ResponseHead } from "./http1-response.js";

/** Unread body bytes above which the socket is paused. */
export const HIGH_WATER = 1024 * 1024;
/** Largest body read and dropped by `dump()` to keep its connection; a larger one closes it. */
export const MAX_DUMP = 64 * 1024;

/** A response: its status, its header fields and its body. */
export interface HttpResponse {
  statusCode: number;
  /** Lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  body: ResponseBody;
}

/**
 * A response body: iterate it to the end, or call `abandon()` (or `return()`, as `break` in a
 * `for await` does) to give it up, or `dump()` to read and drop it.
 */
export interface ResponseBody extends AsyncIterable<Buffer> {
  next(): Promise<IteratorResult<Buffer, undefined>>;
  return(): Promise<IteratorResult<Buffer, undefined>>;
  /** Give the body up; a connection still receiving it is closed. */
  abandon(): void;
  /** Read and drop the rest (to reuse the connection) if it is small, else as `abandon()`. */
  dump(): void;
}

/** What an exchange needs from the connection carrying it. */
export interface ExchangeCarrier {
  /** `ex` is given up: close the connection if it still carries it. */
  abandon(ex: Exchange): void;
  pauseReading(): void;
  resumeReading(): void;
}

/** What an exchange needs from the pool it waits in. */
export interface ExchangeQueue {
  /** `ex` was given up while waiting for a connection. */
  dequeue(ex: Exchange): void;
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * One request and its response. It is also the response's {@link ResponseBody}: one object per
 * request instead of a stream, a handler and a generator.
 */
export class Exchange implements ResponseBody {
  owner: ExchangeQueue | null = null;
  conn: ExchangeCarrier | null = null;
  /**
   * Sent once more after a stale keep-alive connection: it must go on a new connection, and is
   * never retried again.
   */
  retried = false;
  /** When the request was written (ms). */
  sentAt = 0;
  /** Resolves with the final head; rejects if the exchange fails before it. */
  readonly response: Promise<HttpResponse>;
  private resolveHead!: (r: HttpResponse) => void;
  private rejectHead!: (e: Error) => void;
  private gotHead = false;
  private queue: Buffer[] = [];
  private qi = 0;
  private buffered = 0;
  private received = 0;
  /** Complete or failed: nothing more comes from the connection. */
  private settled = false;
  private error: Error | null = null;
  /** Abandoned or dumped: nothing more is delivered. */
  private dropped = false;
  private dumping = false;
  private waitResolve: ((r: IteratorResult<Buffer, undefined>) => void) | null = null;
  private waitReject: ((e: Error) => void) | null = null;

  /**
   * @param request the request's bytes (latin1)
   * @param maxBody body bytes beyond which the exchange fails (ERR_HTTP_BODY_TOO_LARGE)
   */
  constructor(
    readonly request: string,
    private readonly signal: AbortSignal | undefined,
    private readonly maxBody: number,
  ) {
    this.response = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    // the exchange is its own listener (handleEvent): no closure per request
    signal?.addEventListener("abort", this);
  }

  /** The request's signal fired. */
  handleEvent(): void {
    if (this.settled) return;
    const err = new HttpError("ABORT_ERR", "Request aborted", { cause: this.signal?.reason });
    if (this.conn) this.conn.abandon(this);
    else this.owner?.dequeue(this);
    this.fail(err);
  }

  /** The final head arrived. */
  head(head: ResponseHead): void {
    this.gotHead = true;
    this.resolveHead({ statusCode: head.statusCode, headers: head.headers, body: this });
  }

  /**
   * A piece of the body arrived.
   * @throws HttpError ERR_HTTP_BODY_TOO_LARGE past `maxBody` (the piece is not kept)
   */
  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.dumping) {
      if (this.received > MAX_DUMP) throw new HttpError("ERR_HTTP_DUMP_LIMIT", "Body too large to drop");
      return;
    }
    if (this.received > this.maxBody)
      throw new HttpError("ERR_HTTP_BODY_TOO_LARGE", `Response body larger than ${this.maxBody} bytes`);
    const w = this.waitResolve;
    if (w !== null) {
      this.waitResolve = this.waitReject = null;
      w({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered > HIGH_WATER) this.conn?.pauseReading();
  }

  /** The response is complete. */
  end(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this);
    const w = this.waitResolve;
    if (w !== null) {
      this.waitResolve = this.waitReject = null;
      w(DONE);
    }
  }

  /** The exchange failed: the reader gets `err` after the chunks already queued. */
  fail(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.error = err;
    this.signal?.removeEventListener("abort", this);
    if (!this.gotHead) {
      this.rejectHead(err);
      return;
    }
    const r = this.waitReject;
    if (r !== null) {
      this.waitResolve = this.waitReject = null;
      r(err);
    }
  }

  next(): Promise<IteratorResult<Buffer, undefined>> {
    if (this.qi < this.queue.length) {
      const chunk = this.queue[this.qi++]!;
      if (this.qi === this.queue.length) {
        this.queue = [];
        this.qi = 0;
      }
      this.buffered -= chunk.length;
      if (this.buffered <= HIGH_WATER) this.conn?.resumeReading();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.dropped) return Promise.resolve(DONE);
    if (this.error !== null) return Promise.reject(this.error);
    if (this.settled) return Promise.resolve(DONE);
    if (this.waitResolve !== null) return Promise.reject(new Error("Response body read concurrently"));
    return new Promise((resolve, reject) => {
      this.waitResolve = resolve;
      this.waitReject = reject;
    });
  }

  return(): Promise<IteratorResult<Buffer, undefined>> {
    this.abandon();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  abandon(): void {
    if (this.dropped) return;
    this.drop();
    if (this.settled) return;
    if (this.conn) this.conn.abandon(this);
    else this.owner?.dequeue(this);
    this.fail(new HttpError("ERR_HTTP_ABANDONED", "Response body abandoned"));
  }

  dump(): void {
    if (this.dropped) return;
    if (this.settled || this.received > MAX_DUMP || this.conn === null) {
      this.abandon();
      return;
    }
    this.drop();
    this.dumping = true;
    this.conn.resumeReading();
  }

  private drop(): void {
    this.dropped = true;
    this.queue = [];
    this.qi = 0;
    this.buffered = 0;
    const w = this.waitResolve;
    if (w !== null) {
      this.waitResolve = this.waitReject = null;
      w(DONE);
    }
  }
}
