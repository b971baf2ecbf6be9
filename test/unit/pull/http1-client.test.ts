/**
 * The pull's HTTP/1.1 client (http1-client.ts) against real sockets: node:http servers for the
 * ordinary cases, raw TCP servers (_raw-http.ts) for odd and hostile responses. Covers connection
 * reuse and its limits, framing failures as the client sees them, redirects, timeouts, stale
 * keep-alive connections, abandoned and dropped bodies, backpressure, and header injection.
 */
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { isTransient } from "../../../src/pull/fetcher.js";
import { Http1Client, type HttpResponse } from "../../../src/pull/http1-client.js";
import { type RawServer, rawServer, reply, sleep, until } from "./_raw-http.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function client(o: ConstructorParameters<typeof Http1Client>[0] = {}): Http1Client {
  const c = new Http1Client(o);
  cleanups.push(() => c.close());
  return c;
}

async function raw(onRequest: Parameters<typeof rawServer>[0]): Promise<RawServer> {
  const s = await rawServer(onRequest);
  cleanups.push(() => s.close());
  return s;
}

/** A node:http server; counts the TCP connections it accepted. */
async function httpServer(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; server: Server; connections: () => number }> {
  const server = createServer(handler);
  let n = 0;
  server.on("connection", () => n++);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, connections: () => n };
}

async function text(res: HttpResponse): Promise<string> {
  const parts: Buffer[] = [];
  for await (const c of res.body) parts.push(c);
  return Buffer.concat(parts).toString("latin1");
}

async function errorOf(p: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error("expected a failure");
}

describe("Http1Client options", () => {
  it("refuses an option out of its range, naming it, and keeps the defaults", () => {
    const bad: Array<[Record<string, number>, RegExp]> = [
      [{ connections: 0 }, /connections must be an integer from 1 to 1024, not 0/],
      [{ connections: 2.5 }, /connections .* not 2\.5/],
      [{ connections: 5000 }, /connections/],
      [{ timeoutMs: 0 }, /timeoutMs must be an integer from 1 to 2147483647, not 0/],
      [{ timeoutMs: Number.NaN }, /timeoutMs .* not NaN/],
      [{ timeoutMs: 2 ** 31 }, /timeoutMs/],
      [{ keepAliveTimeout: -1 }, /keepAliveTimeout/],
      [{ maxRedirections: -1 }, /maxRedirections must be an integer from 0 to 100, not -1/],
      [{ maxRedirections: Number.POSITIVE_INFINITY }, /maxRedirections/],
    ];
    for (const [o, msg] of bad) {
      let err: unknown;
      try {
        new Http1Client(o);
      } catch (e) {
        err = e;
      }
      expect(isArborError(err) && err.code, JSON.stringify(o)).toBe("BAD_CONFIG");
      expect((err as Error).message).toMatch(msg);
    }
    const c = new Http1Client();
    expect([c.connections, c.keepAliveTimeout, c.timeoutMs, c.maxRedirections]).toEqual([
      8, 30_000, 30_000, 5,
    ]);
    const d = new Http1Client({ connections: 1, maxRedirections: 0, timeoutMs: 1 });
    expect([d.connections, d.maxRedirections, d.timeoutMs]).toEqual([1, 0, 1]);
  });
});

describe("Http1Client connections", () => {
  it("one TCP connection serves many sequential requests", async () => {
    const srv = await httpServer((req, res) => res.end(`you asked ${req.url}`));
    const c = client();
    for (let i = 0; i < 25; i++) {
      const res = await c.request(`${srv.url}/f${i}`);
      expect(res.statusCode).toBe(200);
      expect(await text(res)).toBe(`you asked /f${i}`);
    }
    expect(srv.connections()).toBe(1);
  });

  it("concurrent requests use at most `connections` sockets per origin, the rest wait in line", async () => {
    let inFlight = 0;
    let most = 0;
    const srv = await httpServer((req, res) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end(req.url);
      }, 10);
    });
    const c = client({ connections: 3 });
    const got = await Promise.all(
      Array.from({ length: 20 }, (_, i) => c.request(`${srv.url}/${i}`).then(text)),
    );
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => `/${i}`));
    expect(srv.connections()).toBe(3);
    expect(most).toBe(3);
  });

  it("sends the headers given, Host, and keep-alive; nothing else", async () => {
    const srv = await raw((r) => r.socket.write(reply("ok")));
    const c = client();
    await text(
      await c.request(`${srv.url}/a/b?x=1`, { headers: { "user-agent": "t/1", "if-none-match": '"e"' } }),
    );
    expect(srv.requests[0]!.head).toBe(
      `GET /a/b?x=1 HTTP/1.1\r\nhost: 127.0.0.1:${srv.port}\r\nconnection: keep-alive\r\nuser-agent: t/1\r\nif-none-match: "e"`,
    );
  });

  it("refuses header values with CR or LF (or other controls) and sends nothing", async () => {
    const srv = await raw((r) => r.socket.write(reply("ok")));
    const c = client();
    for (const v of ["a\r\nX-Injected: 1", "a\nb", "a\rb", "a\0b"]) {
      const e = await errorOf(c.request(`${srv.url}/`, { headers: { "x-token": v } }));
      expect(isArborError(e, "BAD_CONFIG"), String(e)).toBe(true);
      expect(e.message).toMatch(/"x-token": its value contains CR, LF/);
    }
    const e = await errorOf(c.request(`${srv.url}/`, { headers: { "bad name": "v" } }));
    expect(isArborError(e, "BAD_CONFIG")).toBe(true);
    expect(srv.requests).toHaveLength(0);
  });

  it("a body without Content-Length runs until the server closes; that connection is not reused", async () => {
    const srv = await raw((r) => {
      r.socket.write("HTTP/1.1 200 OK\r\n\r\npart one, ");
      setTimeout(() => r.socket.end("part two"), 20);
    });
    const c = client();
    expect(await text(await c.request(`${srv.url}/1`))).toBe("part one, part two");
    expect(await text(await c.request(`${srv.url}/2`))).toBe("part one, part two");
    expect(srv.connections).toBe(2);
  });

  it("reads a chunked body split across packets at awkward points", async () => {
    const pieces = [
      "HTTP/1.1 200 OK\r\nTransfer-",
      "Encoding: chunked\r\n\r",
      "\n5\r",
      "\nhel",
      "lo\r",
      "\n0",
      "\r\n\r",
      "\n",
    ];
    const srv = await raw(async (r) => {
      for (const p of pieces) {
        r.socket.write(p);
        await sleep(5);
      }
    });
    const c = client();
    expect(await text(await c.request(`${srv.url}/`))).toBe("hello");
    expect(await text(await c.request(`${srv.url}/`))).toBe("hello");
    expect(srv.connections).toBe(1);
  });

  it("skips 1xx interim responses", async () => {
    const srv = await raw((r) => r.socket.write(`HTTP/1.1 100 Continue\r\n\r\n${reply("final")}`));
    const res = await client().request(`${srv.url}/`);
    expect(res.statusCode).toBe(200);
    expect(await text(res)).toBe("final");
  });

  it("Connection: close and HTTP/1.0 responses close the connection after the body", async () => {
    let k = 0;
    const srv = await raw((r) =>
      r.socket.write(
        k++ % 2 === 0
          ? reply("a", "200 OK", "Connection: close\r\n")
          : "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb",
      ),
    );
    const c = client();
    for (let i = 0; i < 4; i++)
      expect(await text(await c.request(`${srv.url}/`))).toBe(i % 2 === 0 ? "a" : "b");
    expect(srv.connections).toBe(4);
  });

  it("bytes after a complete body: the response is delivered, the connection discarded", async () => {
    const srv = await raw((r) =>
      r.socket.write(`${reply("ok")}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!`),
    );
    const c = client();
    expect(await text(await c.request(`${srv.url}/1`))).toBe("ok");
    expect(await text(await c.request(`${srv.url}/2`))).toBe("ok");
    expect(srv.connections).toBe(2);
    await until(() => srv.closed >= 1);
  });

  it("idle connections are closed after keepAliveTimeout", async () => {
    const srv = await raw((r) => r.socket.write(reply("ok")));
    const c = client({ keepAliveTimeout: 100 });
    await text(await c.request(`${srv.url}/`));
    await sleep(30);
    expect(srv.closed).toBe(0);
    await until(() => srv.closed === 1, 3000);
  });

  it("idle connections never keep the process alive", () => {
    const script = `
      import { createServer } from "node:http";
      import { Http1Client } from "./src/pull/http1-client.ts";
      const server = createServer((q, s) => s.end("ok"));
      server.keepAliveTimeout = 120_000; // the server would close it after 5 s otherwise
      server.listen(0, "127.0.0.1", async () => {
        server.unref();
        server.on("connection", (s) => s.unref());
        const c = new Http1Client({ keepAliveTimeout: 60_000 });
        const res = await c.request("http://127.0.0.1:" + server.address().port + "/");
        for await (const x of res.body) process.stdout.write(x);
        // no close(): the idle connection must not hold the process for 60 s
      });`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: `${import.meta.dirname}/../../..`,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("ok");
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it("close() destroys every connection; requests in flight fail", async () => {
    const srv = await raw((r) => {
      if (r.path === "/slow") return; // never answered
      r.socket.write(reply("ok"));
    });
    const c = new Http1Client();
    await text(await c.request(`${srv.url}/fast`));
    const slow = c.request(`${srv.url}/slow`);
    await until(() => srv.requests.length === 2);
    await c.close();
    const e = await errorOf(slow);
    expect(e.code).toBe("ERR_HTTP_CLIENT_CLOSED");
    await until(() => srv.closed === srv.connections);
    expect((await errorOf(c.request(`${srv.url}/fast`))).code).toBe("ERR_HTTP_CLIENT_CLOSED");
  });

  it("an aborted request fails at once and its connection is closed", async () => {
    const srv = await raw(() => {});
    const c = client();
    const ac = new AbortController();
    const p = c.request(`${srv.url}/`, { signal: ac.signal });
    await until(() => srv.requests.length === 1);
    ac.abort();
    expect((await errorOf(p)).code).toBe("ABORT_ERR");
    await until(() => srv.closed === 1);
  });

  it("a request aborted while waiting in line fails at once and is never sent", async () => {
    let answerFirst: (() => void) | null = null;
    const srv = await raw((r) => {
      if (r.path === "/first") answerFirst = () => r.socket.write(reply("first"));
      else r.socket.write(reply(`body of ${r.path}`));
    });
    const c = client({ connections: 1 });
    const first = c.request(`${srv.url}/first`);
    await until(() => answerFirst !== null);
    const ac = new AbortController();
    const queued = c.request(`${srv.url}/queued`, { signal: ac.signal });
    ac.abort();
    expect((await errorOf(queued)).code).toBe("ABORT_ERR");
    answerFirst!();
    expect(await text(await first)).toBe("first");
    // the one connection goes on to the next request, not to the aborted one
    expect(await text(await c.request(`${srv.url}/next`))).toBe("body of /next");
    expect(srv.requests.map((r) => `${r.conn}${r.path}`)).toEqual(["0/first", "0/next"]);
  });
});

describe("Http1Client malformed and broken responses", () => {
  async function failure(answer: string | ((r: Parameters<Parameters<typeof rawServer>[0]>[0]) => void)) {
    const srv = await raw(typeof answer === "string" ? (r) => r.socket.write(answer) : answer);
    return errorOf(client({ timeoutMs: 2000 }).request(`${srv.url}/`).then(text));
  }

  it("a bad status line, oversized headers, bad or conflicting Content-Length, a bad chunk size: ERR_HTTP_MALFORMED, transient", async () => {
    const cases: Array<[string, RegExp]> = [
      ["HTTP/1.1 OK\r\n\r\n", /invalid status line/],
      ["SSH-2.0-OpenSSH\r\n\r\n", /invalid status line/],
      [`HTTP/1.1 200 OK\r\nX: ${"x".repeat(70_000)}\r\n\r\n`, /larger than 65536 bytes/],
      ["HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n", /invalid Content-Length/],
      ["HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", /conflicting Content-Length/],
      ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", /invalid chunk size/],
      ["HTTP/1.1 200 OK\r\nBroken header\r\n\r\n", /invalid header line/],
    ];
    for (const [answer, re] of cases) {
      const e = await failure(answer);
      expect(e.code, answer.slice(0, 40)).toBe("ERR_HTTP_MALFORMED");
      expect(e.message).toMatch(/^Malformed HTTP response: /);
      expect(e.message).toMatch(re);
      expect(isTransient(e)).toBe(true);
    }
  });

  it("a body cut short (Content-Length or chunked) fails with ERR_STREAM_PREMATURE_CLOSE after the bytes received", async () => {
    for (const start of [
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64\r\nonly this",
    ]) {
      const srv = await raw((r) => r.socket.end(start));
      const res = await client().request(`${srv.url}/`);
      const got: Buffer[] = [];
      const e = await errorOf(
        (async () => {
          for await (const c of res.body) got.push(c);
        })(),
      );
      expect(Buffer.concat(got).toString()).toBe("only this");
      expect(e.code).toBe("ERR_STREAM_PREMATURE_CLOSE");
      expect(e.message).toMatch(/before the end of the body/);
      expect(isTransient(e)).toBe(true);
    }
  });

  it("a connection closed before any response on a fresh connection fails (ECONNRESET), not retried", async () => {
    const e = await failure((r) => r.socket.destroy());
    expect(e.code).toBe("ECONNRESET");
    expect(isTransient(e)).toBe(true);
  });

  it("maxBodyBytes: the body fails once it exceeds the limit, and no byte beyond is delivered", async () => {
    const srv = await raw((r) => {
      r.socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (let i = 0; i < 10; i++) r.socket.write(`400\r\n${"z".repeat(1024)}\r\n`);
      r.socket.write("0\r\n\r\n");
    });
    const res = await client().request(`${srv.url}/`, { maxBodyBytes: 4096 });
    let n = 0;
    const e = await errorOf(
      (async () => {
        for await (const c of res.body) n += c.length;
      })(),
    );
    expect(e.code).toBe("ERR_HTTP_BODY_TOO_LARGE");
    expect(n).toBeLessThanOrEqual(4096);
    await until(() => srv.closed === 1);
  });
});

describe("Http1Client redirects", () => {
  it("follows relative and absolute Locations, to another origin without credentials", async () => {
    const other = await raw((r) => r.socket.write(reply(`other ${r.path}`)));
    const srv = await raw((r) => {
      if (r.path === "/start") r.socket.write(reply("", "302 Found", "Location: next?q=1\r\n"));
      else if (r.path === "/next?q=1") r.socket.write(reply("", "301 Moved", `Location: ${srv.url}/abs\r\n`));
      else if (r.path === "/abs")
        r.socket.write(reply("", "307 Temporary", `Location: ${other.url}/there\r\n`));
    });
    const res = await client().request(`${srv.url}/start`, {
      headers: { authorization: "Basic eDp5", cookie: "a=b", "user-agent": "t" },
    });
    expect(res.statusCode).toBe(200);
    expect(await text(res)).toBe("other /there");
    expect(srv.requests.map((r) => r.path)).toEqual(["/start", "/next?q=1", "/abs"]);
    expect(srv.requests.every((r) => r.headers.authorization === "Basic eDp5")).toBe(true);
    const there = other.requests[0]!;
    expect(there.headers.host).toBe(`127.0.0.1:${other.port}`);
    expect(there.headers.authorization).toBeUndefined();
    expect(there.headers.cookie).toBeUndefined();
    expect(there.headers["user-agent"]).toBe("t");
    // the redirect bodies were dropped and the connection reused
    expect(srv.connections).toBe(1);
  });

  it("follows 303 and 308; five redirects are fine, a sixth is a clear, non-transient error", async () => {
    const codes = ["303 See Other", "308 Permanent"];
    const srv = await raw((r) => {
      const k = Number(r.path.slice(1));
      if (r.path === "/loop") r.socket.write(reply("moved", codes[0], "Location: /loop\r\n"));
      else if (k < 5) r.socket.write(reply("moved", codes[k % 2], `Location: /${k + 1}\r\n`));
      else r.socket.write(reply("arrived"));
    });
    const c = client();
    expect(await text(await c.request(`${srv.url}/0`))).toBe("arrived");
    const before = srv.requests.length;
    const e = await errorOf(c.request(`${srv.url}/loop`));
    expect(e.code).toBe("ERR_HTTP_TOO_MANY_REDIRECTS");
    expect(e.message).toMatch(/Too many redirects \(more than 5\)/);
    expect(isTransient(e)).toBe(false);
    expect(srv.requests.length - before).toBe(6);
  });

  it("a redirect to a non-HTTP URL is refused", async () => {
    const srv = await raw((r) => r.socket.write(reply("", "302 Found", "Location: ftp://example.com/x\r\n")));
    const e = await errorOf(client().request(`${srv.url}/`));
    expect(e.code).toBe("ERR_HTTP_REDIRECT");
    expect(e.message).toMatch(/ftp:\/\/example.com\/x/);
  });
});

describe("Http1Client stale connections and timeouts", () => {
  it("a reused connection the server had closed is retried once on a fresh connection", async () => {
    const srv = await raw((r) => {
      // the first connection serves one request, then "closes" as the second arrives
      if (r.conn === 0 && r.n === 1) r.socket.destroy();
      else r.socket.write(reply(`conn ${r.conn}`));
    });
    const c = client();
    expect(await text(await c.request(`${srv.url}/a`))).toBe("conn 0");
    expect(await text(await c.request(`${srv.url}/b`))).toBe("conn 1");
    expect(srv.requests.map((r) => `${r.conn}${r.path}`)).toEqual(["0/a", "0/b", "1/b"]);
  });

  it("the retry happens once: a second failure is reported", async () => {
    const srv = await raw((r) => {
      if (r.n === 0 && r.conn === 0) r.socket.write(reply("first"));
      else r.socket.destroy();
    });
    const c = client();
    expect(await text(await c.request(`${srv.url}/a`))).toBe("first");
    const e = await errorOf(c.request(`${srv.url}/b`));
    expect(e.code).toBe("ECONNRESET");
    expect(srv.requests.map((r) => `${r.conn}${r.path}`)).toEqual(["0/a", "0/b", "1/b"]);
  });

  it("no response head in time: ETIMEDOUT (silent server, and one trickling its head)", async () => {
    const silent = await raw(() => {});
    const c = client({ timeoutMs: 300 });
    let t0 = Date.now();
    let e = await errorOf(c.request(`${silent.url}/`));
    expect(e.code).toBe("ETIMEDOUT");
    expect(e.message).toMatch(/Headers timeout after 300 ms/);
    expect(Date.now() - t0).toBeLessThan(2000);

    const trickle = await raw(async (r) => {
      const head = `HTTP/1.1 200 OK\r\nX-Slow: ${"s".repeat(200)}`;
      for (const ch of head) {
        if (r.socket.destroyed) return;
        r.socket.write(ch);
        await sleep(20);
      }
    });
    t0 = Date.now();
    e = await errorOf(c.request(`${trickle.url}/`));
    expect(e.code).toBe("ETIMEDOUT");
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("a body that stops arriving: ETIMEDOUT from the body", async () => {
    const srv = await raw((r) => r.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"));
    const res = await client({ timeoutMs: 300 }).request(`${srv.url}/`);
    const e = await errorOf(text(res));
    expect(e.code).toBe("ETIMEDOUT");
    expect(e.message).toMatch(/Body timeout/);
    expect(isTransient(e)).toBe(true);
  });
});

describe("Http1Client bodies", () => {
  it("abandoning a body mid-way closes its connection; the next request works on a new one", async () => {
    const srv = await raw((r) => {
      if (r.path === "/big") {
        r.socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        r.socket.write("x".repeat(1000));
      } else r.socket.write(reply("next"));
    });
    const c = client({ connections: 1 });
    const res = await c.request(`${srv.url}/big`);
    for await (const chunk of res.body) {
      expect(chunk.length).toBeGreaterThan(0);
      break; // abandons
    }
    await until(() => srv.closed === 1);
    expect(await text(await c.request(`${srv.url}/small`))).toBe("next");
    expect(srv.connections).toBe(2);
  });

  it("dump(): a small error body is read and dropped, and the connection reused; a large one closes it", async () => {
    const srv = await raw((r) => {
      if (r.path === "/404") {
        r.socket.write("HTTP/1.1 404 Not Found\r\nContent-Length: 20\r\n\r\nnot ");
        setTimeout(() => r.socket.write("found, sorry :-("), 20);
      } else if (r.path === "/500") {
        r.socket.write(`HTTP/1.1 500 Oops\r\nContent-Length: 200000\r\n\r\n${"e".repeat(100_000)}`);
        setTimeout(() => r.socket.write("e".repeat(100_000)), 20);
      } else r.socket.write(reply("ok"));
    });
    const c = client({ connections: 1 });
    const r1 = await c.request(`${srv.url}/404`);
    expect(r1.statusCode).toBe(404);
    r1.body.dump();
    expect(await text(await c.request(`${srv.url}/ok`))).toBe("ok");
    expect(srv.connections).toBe(1);
    const r2 = await c.request(`${srv.url}/500`);
    r2.body.dump();
    expect(await text(await c.request(`${srv.url}/ok`))).toBe("ok");
    expect(srv.connections).toBe(2);
  });

  it("a small body that arrived whole is delivered as one slice of the received chunk", async () => {
    const srv = await raw((r) => r.socket.write(reply("x".repeat(3000))));
    const res = await client().request(`${srv.url}/`);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.length).toBe(3000);
    // a view into the socket's chunk (which also held the head), not a copy of its own
    expect(chunks[0]!.byteOffset).toBeGreaterThan(0);
  });

  it("backpressure: a large body read slowly is not buffered whole (the socket is paused)", async () => {
    const total = 64 * 1024 * 1024;
    let written = 0;
    const srv = await httpServer((_req, res) => {
      res.writeHead(200, { "content-length": String(total) });
      const block = Buffer.alloc(256 * 1024, 0x61);
      const pump = (): void => {
        while (written < total) {
          written += block.length;
          if (!res.write(block)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const res = await client().request(`${srv.url}/`);
    const it = res.body[Symbol.asyncIterator]();
    await it.next();
    await sleep(400);
    // our 1 MiB plus what the kernel's socket buffers hold; without backpressure, all 64 MiB
    expect(written).toBeLessThan(24 * 1024 * 1024);
    let n = (await it.next()).value?.length ?? 0;
    for (let r = await it.next(); !r.done; r = await it.next()) n += r.value.length;
    expect(written).toBe(total);
    expect(n).toBeGreaterThan(total - 2 * 1024 * 1024);
  });
});
