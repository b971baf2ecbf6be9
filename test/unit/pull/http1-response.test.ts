/**
 * The HTTP/1.1 response parser (http1-response.ts), fed by hand: framing by Content-Length,
 * chunked coding and connection close; responses split at every byte; and the hostile or broken
 * responses it must refuse rather than guess at.
 */
import { describe, expect, it } from "vitest";
import {
  HttpError,
  MAX_HEAD_BYTES,
  parseContentLength,
  type ResponseHead,
  ResponseParser,
} from "../../../src/pull/http1-response.js";

interface Parsed {
  heads: ResponseHead[];
  body: Buffer;
  pieces: Buffer[];
  done: boolean;
  /** Offset in the last chunk where the response ended. */
  end: number;
  parser: ResponseParser;
}

/** Feed `chunks` in order (stopping once the response is complete). */
function parse(...chunks: Array<string | Buffer>): Parsed {
  const heads: ResponseHead[] = [];
  const pieces: Buffer[] = [];
  const parser = new ResponseParser({
    onHead: (h) => heads.push(h),
    onBody: (b) => pieces.push(b),
  });
  let end = 0;
  for (const c of chunks) {
    const buf = typeof c === "string" ? Buffer.from(c, "latin1") : c;
    end = parser.execute(buf);
    if (parser.done) break;
  }
  return { heads, body: Buffer.concat(pieces), pieces, done: parser.done, end, parser };
}

/** Every way of splitting `s` in two, and byte by byte. */
function splits(s: string): string[][] {
  const out: string[][] = [[s], s.split("")];
  for (let i = 1; i < s.length; i++) out.push([s.slice(0, i), s.slice(i)]);
  return out;
}

function refused(f: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, "expected the response to be refused").toBeInstanceOf(HttpError);
  expect((err as HttpError).code).toBe("ERR_HTTP_MALFORMED");
  expect((err as Error).message).toMatch(re);
}

describe("ResponseParser", () => {
  it("parses status, headers (lower-cased names, repeated fields joined) and a Content-Length body", () => {
    const r = parse(
      'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nETag:  "abc" \r\nX-A: 1\r\nx-a: 2\r\nServer: t\r\n\r\nhello',
    );
    expect(r.done).toBe(true);
    expect(r.heads).toHaveLength(1);
    expect(r.heads[0]!.statusCode).toBe(200);
    expect(r.heads[0]!.keepAlive).toBe(true);
    expect(r.heads[0]!.headers.etag).toBe('"abc"');
    expect(r.heads[0]!.headers["x-a"]).toBe("1, 2");
    expect(r.heads[0]!.headers.server).toBe("t");
    expect(r.body.toString()).toBe("hello");
  });

  it("hands on body slices of the chunk it was fed, not copies", () => {
    const chunk = Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    const r = parse(chunk);
    expect(r.pieces).toHaveLength(1);
    expect(r.pieces[0]!.buffer).toBe(chunk.buffer);
    expect(r.pieces[0]!.byteOffset).toBe(chunk.byteOffset + chunk.length - 5);
  });

  it("parses a response split at every byte, the head and a chunked body alike", () => {
    const msg =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5;name=value\r\nhello\r\n1\r\n \r\n0a\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n";
    for (const chunks of splits(msg)) {
      const r = parse(...chunks);
      expect(r.done, JSON.stringify(chunks.slice(0, 2))).toBe(true);
      expect(r.body.toString()).toBe("hello 0123456789");
      expect(r.heads[0]!.statusCode).toBe(200);
    }
  });

  it("a Content-Length response split at every byte", () => {
    const msg = "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found";
    for (const chunks of splits(msg)) {
      const r = parse(...chunks);
      expect(r.done).toBe(true);
      expect(r.heads[0]!.statusCode).toBe(404);
      expect(r.body.toString()).toBe("not found");
    }
  });

  it("stops at the end of the response: the offset tells where stray bytes begin", () => {
    const r = parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA");
    expect(r.done).toBe(true);
    expect(r.body.toString()).toBe("ok");
    expect(r.end).toBe("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".length);
  });

  it("skips 1xx interim responses", () => {
    const r = parse(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",
    );
    expect(r.heads.map((h) => h.statusCode)).toEqual([200]);
    expect(r.body.toString()).toBe("x");
  });

  it("204 and 304 have no body whatever their headers say", () => {
    for (const code of [204, 304]) {
      const r = parse(`HTTP/1.1 ${code} X\r\nContent-Length: 10\r\n\r\n`);
      expect(r.done).toBe(true);
      expect(r.body.length).toBe(0);
    }
  });

  it("without Content-Length or chunked coding, the body runs until the server closes", () => {
    const r = parse("HTTP/1.1 200 OK\r\n\r\nsome", " data");
    expect(r.done).toBe(false);
    expect(r.heads[0]!.keepAlive).toBe(false);
    expect(r.parser.finish()).toBe(true);
    expect(r.body.toString()).toBe("some data");
  });

  it("a close before the end of a Content-Length or chunked body is not a complete response", () => {
    expect(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").parser.finish()).toBe(false);
    expect(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n").parser.finish()).toBe(
      false,
    );
    expect(parse("HTTP/1.1 200 OK\r\nContent-").parser.finish()).toBe(false);
  });

  it("Connection: close and HTTP/1.0 responses do not keep the connection", () => {
    expect(
      parse("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n").heads[0]!.keepAlive,
    ).toBe(false);
    expect(
      parse("HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n").heads[0]!
        .keepAlive,
    ).toBe(false);
    expect(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").heads[0]!.keepAlive).toBe(false);
    expect(
      parse("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").heads[0]!.keepAlive,
    ).toBe(true);
  });

  it("after reset() the same parser reads the next response", () => {
    const pieces: Buffer[] = [];
    const p = new ResponseParser({ onHead: () => {}, onBody: (b) => pieces.push(b) });
    p.execute(Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n"));
    expect(p.done).toBe(true);
    p.reset();
    expect(p.done).toBe(false);
    p.execute(Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc"));
    expect(p.done).toBe(true);
    expect(Buffer.concat(pieces).toString()).toBe("bc");
  });

  it("refuses a bad status line", () => {
    refused(() => parse("HTTP/2 200 OK\r\n\r\n"), /invalid status line "HTTP\/2 200 OK"/);
    refused(() => parse("ICY 200 OK\r\n\r\n"), /invalid status line/);
    refused(() => parse("HTTP/1.1 2000 OK\r\n\r\n"), /invalid status line/);
    refused(() => parse("HTTP/1.1 099 X\r\n\r\n"), /invalid status line/);
    refused(() => parse("\r\n\r\n"), /invalid status line/);
    refused(() => parse("HTTP/1.1 101 Switching Protocols\r\n\r\n"), /101/);
  });

  it("refuses malformed header lines: no colon, space before the colon, folding, bad names", () => {
    refused(() => parse("HTTP/1.1 200 OK\r\nNoColon\r\n\r\n"), /invalid header line "NoColon"/);
    refused(() => parse("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx"), /invalid header line/);
    refused(() => parse("HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n"), /invalid header line/);
    refused(() => parse("HTTP/1.1 200 OK\r\n: empty\r\n\r\n"), /invalid header line/);
    refused(() => parse("HTTP/1.1 200 OK\r\nX(A): 1\r\n\r\n"), /invalid header line/);
  });

  it("refuses bare CR or LF and control characters in the head", () => {
    refused(() => parse("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"), /not ended by CRLF/);
    refused(() => parse("HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n"), /not ended by CRLF/);
    refused(() => parse("HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n"), /control character/);
    // split so that the check runs on the reassembled head
    refused(() => parse("HTTP/1.1 200 OK\r\nX-A: a", "\x01b\r\n\r\n"), /control character/);
  });

  it("refuses a head larger than MAX_HEAD_BYTES, whole or in pieces, interim heads included", () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(MAX_HEAD_BYTES)}\r\n\r\n`;
    refused(() => parse(big), /larger than 65536 bytes/);
    const pieces = Array.from({ length: Math.ceil(big.length / 1000) }, (_, i) =>
      big.slice(i * 1000, i * 1000 + 1000),
    );
    refused(() => parse(...pieces), /larger than 65536 bytes/);
    const interim = `HTTP/1.1 100 Continue\r\nX: ${"b".repeat(40_000)}\r\n\r\n`;
    refused(() => parse(interim, interim, "HTTP/1.1 200 OK\r\n\r\n"), /larger than/);
    // just under the limit is fine
    const ok = `HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX: ${"c".repeat(MAX_HEAD_BYTES - 60)}\r\n\r\n`;
    expect(parse(ok).done).toBe(true);
  });

  it("refuses invalid and conflicting Content-Length values; agreeing duplicates are one value", () => {
    refused(() => parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), /invalid Content-Length "-1"/);
    refused(() => parse("HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n"), /invalid Content-Length/);
    refused(() => parse("HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n"), /invalid Content-Length/);
    refused(() => parse("HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n"), /invalid Content-Length/);
    refused(
      () => parse("HTTP/1.1 200 OK\r\nContent-Length: 9999999999999999\r\n\r\n"),
      /invalid Content-Length/,
    );
    refused(
      () => parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!"),
      /conflicting Content-Length values "5, 6"/,
    );
    refused(() => parse("HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!"), /conflicting/);
    const r = parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello");
    expect(r.body.toString()).toBe("hello");
    expect(parseContentLength("3, 3")).toBe(3);
  });

  it("refuses Transfer-Encoding with Content-Length, codings other than chunked, and chunked in HTTP/1.0", () => {
    refused(
      () => parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"),
      /both Transfer-Encoding and Content-Length/,
    );
    refused(
      () => parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
      /unsupported Transfer-Encoding/,
    );
    refused(() => parse("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), /HTTP\/1.0/);
  });

  it("refuses bad chunk sizes and chunk data not followed by CRLF", () => {
    const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    refused(() => parse(`${head}xyz\r\n`), /invalid chunk size "xyz"/);
    refused(() => parse(`${head}-5\r\nhello\r\n`), /invalid chunk size/);
    refused(() => parse(`${head}\r\n`), /invalid chunk size ""/);
    refused(() => parse(`${head}5 5\r\nhello\r\n`), /invalid chunk size/);
    refused(() => parse(`${head}5\nhello\r\n`), /not ended by CRLF/);
    refused(() => parse(`${head}${"f".repeat(14)}\r\n`), /chunk size too large/);
    refused(() => parse(`${head}5;${"e".repeat(5000)}\r\n`), /chunk size line longer than 4096/);
    refused(() => parse(`${head}5\r\nhelloXX0\r\n\r\n`), /chunk data not followed by CRLF/);
    refused(() => parse(`${head}5\r\nhello\r`, "X"), /chunk data not followed by CRLF/);
    // leading zeros are fine
    expect(parse(`${head}0000000000000005\r\nhello\r\n0\r\n\r\n`).body.toString()).toBe("hello");
  });

  it("skips trailers but bounds them", () => {
    const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n";
    expect(parse(`${head}A: 1\r\nB: 2\r\n\r\n`).done).toBe(true);
    refused(
      () => parse(head, ...Array.from({ length: 70 }, () => `T: ${"t".repeat(1000)}\r\n`)),
      /chunked trailer/,
    );
  });
});
