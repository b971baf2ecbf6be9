/**
 * HttpFetcher on the HTTP/1.1 client (direct connections): what a failure of the client becomes
 * (transient NETWORK errors naming the URL, non-transient redirect loops, OBJECT_CORRUPT past
 * `maxBytes`), connections kept across `get`, `stream` and 404s, and no undici loaded at all.
 */
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { HttpFetcher, type HttpFetcherOptions } from "../../../src/pull/fetcher-http.js";
import { type RawServer, rawServer, reply, until } from "./_raw-http.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function raw(onRequest: Parameters<typeof rawServer>[0]): Promise<RawServer> {
  const s = await rawServer(onRequest);
  cleanups.push(() => s.close());
  return s;
}

function fetcher(srv: RawServer, o: Partial<HttpFetcherOptions> = {}): HttpFetcher {
  const f = new HttpFetcher({ url: `${srv.url}/repo/`, retry: { retries: 0 }, timeoutMs: 2000, ...o });
  cleanups.push(() => f.close());
  return f;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

describe("HttpFetcher on the HTTP/1.1 client", () => {
  it("a malformed response is a transient NETWORK error naming the URL and the fault (retried)", async () => {
    const srv = await raw((r) =>
      r.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
    );
    const f = fetcher(srv, { retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 } });
    const e = await failure(f.get("url", "config"));
    expect(isArborError(e, "NETWORK")).toBe(true);
    expect(e.message).toBe(
      `Cannot fetch ${srv.url}/repo/config: Cannot fetch ${srv.url}/repo/config: ` +
        `Malformed HTTP response: conflicting Content-Length values "1, 2" (after 3 attempts)`,
    );
    expect(srv.requests).toHaveLength(3);
  });

  it("a redirect loop is a NETWORK error that is not retried", async () => {
    const srv = await raw((r) => r.socket.write(reply("", "302 Found", `Location: ${r.path}\r\n`)));
    const f = fetcher(srv, { retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 2 } });
    const e = await failure(f.get("url", "config"));
    expect(isArborError(e, "NETWORK")).toBe(true);
    expect(e.message).toMatch(/^Cannot fetch http:.*\/repo\/config: Too many redirects \(more than 5\)/);
    expect(srv.requests).toHaveLength(6);
  });

  it("a body without Content-Length is cut off at maxBytes: OBJECT_CORRUPT, nothing beyond passed on", async () => {
    const srv = await raw((r) => {
      r.socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (let i = 0; i < 8; i++) r.socket.write(`400\r\n${"o".repeat(1024)}\r\n`);
      r.socket.write("0\r\n\r\n");
    });
    const f = fetcher(srv);
    const s = (await f.stream("content", "objects/aa/bb.filez", { maxBytes: 3000 }))!;
    // the client stops at the limit even before the body is read (no 1 MiB buffered meanwhile)
    await until(() => srv.closed === 1);
    let n = 0;
    const e = await failure(
      (async () => {
        for await (const c of s.body) n += c.length;
      })(),
    );
    s.cancel();
    expect(isArborError(e, "OBJECT_CORRUPT")).toBe(true);
    expect(e.message).toMatch(/URI .*\/objects\/aa\/bb\.filez exceeded maximum size of 3000 bytes/);
    expect(n).toBeLessThanOrEqual(3000);
  });

  it("get, stream, and 404s keep the one connection; an abandoned stream drops it", async () => {
    const srv = await raw((r) => {
      if (r.path.endsWith("/missing")) {
        // the error body arrives after the head: dropping it must read it, not close the connection
        r.socket.write("HTTP/1.1 404 Not Found\r\nContent-Length: 13\r\n\r\nno such ");
        setTimeout(() => r.socket.write("file\n"), 20);
      } else if (r.path.endsWith("/big"))
        r.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n${"b".repeat(500)}`);
      else r.socket.write(reply(`body of ${r.path}`));
    });
    const f = fetcher(srv, { connections: 1 });
    expect(Buffer.from((await f.get("url", "config"))!.data).toString()).toBe("body of /repo/config");
    expect(await f.get("url", "missing", { optional: true })).toBeNull();
    const e = await failure(f.get("url", "missing"));
    expect(isArborError(e, "NOT_FOUND")).toBe(true);
    expect(e.message).toBe(`Cannot fetch ${srv.url}/repo/missing: Server returned HTTP 404`);
    const s = (await f.stream("content", "objects/ab/cd.filez"))!;
    const parts: Uint8Array[] = [];
    for await (const c of s.body) parts.push(c);
    s.cancel();
    expect(Buffer.concat(parts).toString()).toBe("body of /repo/objects/ab/cd.filez");
    expect(srv.connections).toBe(1);
    expect(f.bytesTransferred).toBe(
      "body of /repo/config".length + "body of /repo/objects/ab/cd.filez".length,
    );

    const big = (await f.stream("content", "big"))!;
    await big.body[Symbol.asyncIterator]().next();
    big.cancel();
    await until(() => srv.closed === 1);
    expect(Buffer.from((await f.get("url", "config"))!.data).toString()).toBe("body of /repo/config");
    expect(srv.connections).toBe(2);
  });

  it("get() returns the body in a buffer of its own, however it arrived", async () => {
    const srv = await raw((r) => {
      r.socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
      setTimeout(() => r.socket.write("3\r\ndef\r\n0\r\n\r\n"), 10);
    });
    const got = (await fetcher(srv).get("url", "summary"))!.data;
    expect(Buffer.from(got).toString()).toBe("abcdef");
    expect(got.byteOffset).toBe(0);
    expect(got.buffer.byteLength).toBe(6);
  });

  it("refuses an --http-header value with CR or LF when the fetcher is made", async () => {
    const srv = await raw((r) => r.socket.write(reply("ok")));
    expect(() => fetcher(srv, { headers: [["X-Token", "a\r\nInjected: yes"]] })).toThrow(
      /Cannot send HTTP header "x-token": its value contains CR, LF/,
    );
    expect(srv.requests).toHaveLength(0);
  });

  it("a direct fetch loads no undici module", async () => {
    const srv = await raw((r) => r.socket.write(reply("ok")));
    await fetcher(srv).get("url", "config");
    const cache = createRequire(import.meta.url).cache;
    expect(Object.keys(cache).filter((k) => /[\\/]node_modules[\\/]undici[\\/]/.test(k))).toEqual([]);
  });
});
