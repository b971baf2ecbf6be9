/**
 * The HTTP/1.1 response parser of the pull's HTTP client (http1-client.ts). It is fed the chunks a
 * socket delivers, in order, and is strict: the server is not trusted, and a response we cannot
 * frame exactly is refused rather than guessed at (a guess would let a hostile or broken server
 * slip bytes of one response into the next on a reused connection).
 *
 * The head (status line, header fields) must end with CRLF CRLF within {@link MAX_HEAD_BYTES};
 * lines end with CRLF (a bare CR or LF is refused), names are tokens with no space before the
 * colon, folded lines and control characters are refused. Body framing (RFC 9112 §6.3), in order:
 *  - 1xx: interim, skipped (101 is refused: we never ask to switch protocols);
 *  - 204 and 304: no body;
 *  - `Transfer-Encoding: chunked`: chunks with validated hex sizes, extensions ignored, trailers
 *    skipped; any other transfer coding, or one together with `Content-Length`, is refused;
 *  - `Content-Length`: exactly that many bytes (repeated values must agree);
 *  - neither: everything until the server closes the connection (which is then not reused).
 */

/** Largest response head accepted, interim (1xx) heads included. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Largest chunk-size line (size and extensions) accepted. */
const MAX_CHUNK_LINE = 4096;

/**
 * A failure of an HTTP exchange. `code` is what `isTransient()` (fetcher.ts) looks at: system
 * codes (`ECONNRESET`, `ETIMEDOUT`…), `ERR_STREAM_PREMATURE_CLOSE` for a body cut short,
 * `ERR_HTTP_MALFORMED` for a response that breaks the protocol, and non-transient
 * `ERR_HTTP_*` codes for the rest.
 */
export class HttpError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = "HttpError";
    this.code = code;
  }
}

/** The error for a response that does not follow HTTP/1.1. */
export function malformed(what: string): HttpError {
  return new HttpError("ERR_HTTP_MALFORMED", `Malformed HTTP response: ${what}`);
}

/** A final (non-1xx) response head. */
export interface ResponseHead {
  statusCode: number;
  /** Lower-cased names; a repeated field's values joined with ", " (RFC 9110 §5.3). */
  headers: Record<string, string>;
  /** The connection may carry another request once this response is complete. */
  keepAlive: boolean;
}

/** Where the parser delivers what it parsed. Each call may throw to stop the parse. */
export interface ParserSink {
  onHead(head: ResponseHead): void;
  /** A piece of the body: a slice of the chunk fed in, never a copy. */
  onBody(chunk: Buffer): void;
}

// Parser states.
const HEAD = 0;
const BODY_LENGTH = 1;
const BODY_UNTIL_CLOSE = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_CR = 5;
const CHUNK_LF = 6;
const TRAILERS = 7;
const DONE = 8;

const CRLFCRLF = Buffer.from("\r\n\r\n");
const CR = 13;
const LF = 10;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: |$)/;
/** tchar (RFC 9110 §5.6.2): the characters of a header name. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  TCHAR[c.charCodeAt(0)] = 1;

/** True if `s` is a non-empty token (a loop: cheaper than a regular expression per field). */
function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TCHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}
const CHUNK_LINE = /^([0-9A-Fa-f]+)[ \t]*(?:;.*)?$/;

/** A value for an error message: quoted, at most 80 characters. */
function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

/** `s` without leading and trailing spaces and tabs (the "optional whitespace" around a value). */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** True if `s` has a control character other than HT. */
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

/** True if the comma-separated list `v` holds `token` (case-insensitive). */
function hasToken(v: string | undefined, token: string): boolean {
  if (v === undefined) return false;
  for (const t of v.split(",")) if (trimOws(t).toLowerCase() === token) return true;
  return false;
}

/**
 * The value of a `Content-Length` field (repeated fields arrive joined with ", ").
 * @throws HttpError ERR_HTTP_MALFORMED for anything but decimal digits, or values that differ.
 */
export function parseContentLength(v: string): number {
  let n = -1;
  for (const part of v.split(",")) {
    const t = trimOws(part);
    // 15 digits: below 2^53, so the number is exact
    if (!/^\d{1,15}$/.test(t)) throw malformed(`invalid Content-Length ${quote(v)}`);
    const m = Number(t);
    if (n !== -1 && m !== n) throw malformed(`conflicting Content-Length values ${quote(v)}`);
    n = m;
  }
  return n;
}

/**
 * An incremental response parser: one per connection, {@link ResponseParser.reset} before each
 * request. {@link ResponseParser.execute} throws {@link HttpError} (or what the sink throws).
 */
export class ResponseParser {
  private state = HEAD;
  /** Head bytes held back until the head is complete (no copy until then). */
  private parts: Buffer[] = [];
  private partsLen = 0;
  /** How much of CRLFCRLF the held-back head bytes end with. */
  private matched = 0;
  /** Head bytes of this response so far, interim heads included. */
  private headTotal = 0;
  /** Body (or chunk) bytes still expected. */
  private remaining = 0;
  /** A chunk-size or trailer line received in pieces. */
  private line = "";
  private trailerBytes = 0;
  private keep = false;

  constructor(private readonly sink: ParserSink) {}

  /** Ready for the next response on the same connection. */
  reset(): void {
    this.state = HEAD;
    this.parts = [];
    this.partsLen = 0;
    this.matched = 0;
    this.headTotal = 0;
    this.remaining = 0;
    this.line = "";
    this.trailerBytes = 0;
    this.keep = false;
  }

  /** The response is complete. */
  get done(): boolean {
    return this.state === DONE;
  }

  /** The final head has not been parsed yet. */
  get inHead(): boolean {
    return this.state === HEAD;
  }

  /** The complete response allows the connection to be reused. */
  get keepAlive(): boolean {
    return this.keep;
  }

  /**
   * Parse `chunk`. Returns the offset where the response ended: `chunk.length` unless the
   * response completed before the end of the chunk (the rest is not part of it).
   */
  execute(chunk: Buffer): number {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      switch (this.state) {
        case HEAD:
          pos = this.readHead(chunk, pos);
          break;
        case BODY_LENGTH:
        case CHUNK_DATA: {
          const take = Math.min(this.remaining, len - pos);
          this.sink.onBody(pos === 0 && take === len ? chunk : chunk.subarray(pos, pos + take));
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = this.state === BODY_LENGTH ? DONE : CHUNK_CR;
          break;
        }
        case BODY_UNTIL_CLOSE:
          this.sink.onBody(pos === 0 ? chunk : chunk.subarray(pos));
          pos = len;
          break;
        case CHUNK_SIZE:
          pos = this.readChunkSize(chunk, pos);
          break;
        case CHUNK_CR:
        case CHUNK_LF:
          if (chunk[pos] !== (this.state === CHUNK_CR ? CR : LF))
            throw malformed("chunk data not followed by CRLF");
          pos++;
          this.state = this.state === CHUNK_CR ? CHUNK_LF : CHUNK_SIZE;
          break;
        case TRAILERS:
          pos = this.readTrailer(chunk, pos);
          break;
        default:
          return pos;
      }
    }
    return pos;
  }

  /**
   * The connection was closed by the server: true if that completes the response (a body
   * delimited by the close); false if the response is cut short (or never started).
   */
  finish(): boolean {
    if (this.state === BODY_UNTIL_CLOSE) this.state = DONE;
    return this.state === DONE;
  }

  private readHead(chunk: Buffer, pos: number): number {
    let end = -1; // offset in `chunk` just past CRLFCRLF
    if (this.matched > 0) {
      // the terminator may straddle the previous chunk and this one
      let m = this.matched;
      for (let i = pos; i < chunk.length && i < pos + 4 - this.matched; i++) {
        const b = chunk[i]!;
        m = b === CRLFCRLF[m] ? m + 1 : b === CR ? 1 : 0;
        if (m === 4) {
          end = i + 1;
          break;
        }
      }
    }
    if (end < 0) {
      const at = chunk.indexOf(CRLFCRLF, pos);
      if (at >= 0) end = at + 4;
    }
    const upTo = end < 0 ? chunk.length : end;
    this.headTotal += upTo - pos;
    if (this.headTotal > MAX_HEAD_BYTES) throw malformed(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    if (end < 0) {
      // hold the piece (a slice: the socket never reuses a chunk it delivered)
      const piece = chunk.subarray(pos);
      this.parts.push(piece);
      this.partsLen += piece.length;
      this.matched = trailingMatch(this.parts);
      return chunk.length;
    }
    let text: string;
    if (this.parts.length === 0) {
      checkHeadBytes(chunk, pos, end - 4);
      text = chunk.toString("latin1", pos, end - 4);
    } else {
      this.parts.push(chunk.subarray(pos, end));
      const all = Buffer.concat(this.parts, this.partsLen + end - pos);
      checkHeadBytes(all, 0, all.length - 4);
      text = all.toString("latin1", 0, all.length - 4);
      this.parts = [];
      this.partsLen = 0;
      this.matched = 0;
    }
    this.onHeadText(text);
    return end;
  }

  private onHeadText(text: string): void {
    const lines = text.split("\r\n");
    const status = STATUS_LINE.exec(lines[0]!);
    if (!status) throw malformed(`invalid status line ${quote(lines[0]!)}`);
    const minor = Number(status[1]);
    const statusCode = Number(status[2]);
    const headers: Record<string, string> = Object.create(null);
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      const name = colon > 0 ? line.slice(0, colon) : "";
      // also refuses obsolete line folding (a line starting with a space) and "Name : value"
      if (!isToken(name)) throw malformed(`invalid header line ${quote(line)}`);
      const key = name.toLowerCase();
      const value = trimOws(line.slice(colon + 1));
      const prev = headers[key];
      headers[key] = prev === undefined ? value : `${prev}, ${value}`;
    }
    if (statusCode < 200) {
      if (statusCode === 101) throw malformed("unexpected 101 Switching Protocols");
      return; // interim: the final head follows (state stays HEAD)
    }
    this.keep = minor === 1 && !hasToken(headers.connection, "close");
    const te = headers["transfer-encoding"];
    const cl = headers["content-length"];
    if (statusCode === 204 || statusCode === 304) {
      this.state = DONE;
    } else if (te !== undefined) {
      // Both would be the classic response-splitting ambiguity; HTTP/1.0 has no chunked coding.
      if (cl !== undefined) throw malformed("both Transfer-Encoding and Content-Length");
      if (te.toLowerCase() !== "chunked") throw malformed(`unsupported Transfer-Encoding ${quote(te)}`);
      if (minor === 0) throw malformed("Transfer-Encoding in an HTTP/1.0 response");
      this.state = CHUNK_SIZE;
    } else if (cl !== undefined) {
      this.remaining = parseContentLength(cl);
      this.state = this.remaining === 0 ? DONE : BODY_LENGTH;
    } else {
      this.keep = false;
      this.state = BODY_UNTIL_CLOSE;
    }
    this.sink.onHead({ statusCode, headers, keepAlive: this.keep });
  }

  /** A line ending in CRLF (possibly in pieces); null while incomplete. */
  private readLine(chunk: Buffer, pos: number, max: number, what: string): [string | null, number] {
    const nl = chunk.indexOf(LF, pos);
    const end = nl < 0 ? chunk.length : nl;
    if (this.line.length + end - pos > max) throw malformed(`${what} longer than ${max} bytes`);
    this.line += chunk.toString("latin1", pos, end);
    if (nl < 0) return [null, chunk.length];
    const line = this.line;
    this.line = "";
    if (!line.endsWith("\r")) throw malformed(`${what} not ended by CRLF`);
    return [line.slice(0, -1), nl + 1];
  }

  private readChunkSize(chunk: Buffer, pos: number): number {
    const [line, next] = this.readLine(chunk, pos, MAX_CHUNK_LINE, "chunk size line");
    if (line === null) return next;
    const m = CHUNK_LINE.exec(line);
    if (!m || hasControl(line)) throw malformed(`invalid chunk size ${quote(line)}`);
    const hex = m[1]!.replace(/^0+(?=.)/, "");
    // 13 hex digits: below 2^53, so the size is exact
    if (hex.length > 13) throw malformed(`chunk size too large ${quote(line)}`);
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      this.state = TRAILERS;
    } else {
      this.remaining = size;
      this.state = CHUNK_DATA;
    }
    return next;
  }

  /** Trailer fields are read and ignored, up to the empty line that ends the message. */
  private readTrailer(chunk: Buffer, pos: number): number {
    const [line, next] = this.readLine(chunk, pos, MAX_HEAD_BYTES - this.trailerBytes, "chunked trailer");
    if (line === null) return next;
    this.trailerBytes += line.length + 2;
    if (line === "") this.state = DONE;
    return next;
  }
}

/**
 * Refuse control characters (but HT) in `buf[from, to)`, and a CR or LF that is not part of a
 * CRLF. A loop over the bytes: a few times cheaper than regular expressions over the text.
 * @throws HttpError ERR_HTTP_MALFORMED
 */
function checkHeadBytes(buf: Buffer, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const b = buf[i]!;
    if (b >= 32 && b !== 127) continue;
    if (b === 9) continue;
    if (b === CR && i + 1 < to && buf[i + 1] === LF) {
      i++;
      continue;
    }
    if (b === CR || b === LF) throw malformed("line in the response head not ended by CRLF");
    throw malformed("control character in the response head");
  }
}

/** How much of CRLFCRLF the concatenation of `parts` ends with (0–3). */
function trailingMatch(parts: Buffer[]): number {
  let m = 0;
  // the last three bytes decide; they may span several (tiny) parts
  const tail: number[] = [];
  for (let i = parts.length - 1; i >= 0 && tail.length < 3; i--) {
    const p = parts[i]!;
    for (let j = p.length - 1; j >= 0 && tail.length < 3; j--) tail.unshift(p[j]!);
  }
  for (const b of tail) m = b === CRLFCRLF[m] ? m + 1 : b === CR ? 1 : 0;
  return m;
}
