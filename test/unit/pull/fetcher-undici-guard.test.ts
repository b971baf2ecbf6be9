/**
 * The undici guard (undici-guard.ts) protects fetchers that use undici: those going through a
 * proxy. Direct fetchers use http1-client.ts and register nothing.
 */
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HttpFetcher } from "../../../src/pull/fetcher-http.js";
import { isUndiciPausedAssertion } from "../../../src/pull/undici-guard.js";

/** The error undici's client-h1 throws (`assert(!this.paused)`), as Node's assert builds it. */
function pausedAssertion(): Error {
  const e = new Error("The expression evaluated to a falsy value:\n\n  assert(!this.paused)\n");
  e.name = "AssertionError";
  (e as { code?: string }).code = "ERR_ASSERTION";
  e.stack = `${e.name}: ${e.message}\n    at Parser.finish (node_modules/undici/lib/dispatcher/client-h1.js:306:5)`;
  return e;
}

let server: Server | null = null;
let proxy: Server | null = null;
const tunnels = new Set<Socket>();
let connects = 0;
afterEach(async () => {
  for (const s of tunnels) s.destroy();
  tunnels.clear();
  for (const s of [server, proxy]) {
    s?.closeAllConnections();
    await new Promise((r) => s?.close(r) ?? r(null));
  }
  server = proxy = null;
});

/** A CONNECT proxy on 127.0.0.1 (what undici's ProxyAgent tunnels through); returns its URL. */
async function startProxy(): Promise<string> {
  proxy = createServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req, client: Socket, head: Buffer) => {
    connects++;
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    for (const s of [client, upstream]) {
      tunnels.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((r) => proxy!.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

const guardListening = (): boolean =>
  process.listeners("uncaughtException").some((l) => l.name === "onUncaught");

describe("undici guard", () => {
  it("isUndiciPausedAssertion() matches only undici's client-h1 paused assertion", () => {
    expect(isUndiciPausedAssertion(pausedAssertion())).toBe(true);
    const other = pausedAssertion();
    other.stack = "AssertionError: x\n    at somewhere.js:1:1";
    expect(isUndiciPausedAssertion(other)).toBe(false);
    expect(isUndiciPausedAssertion(new Error("this.paused"))).toBe(false);
    expect(isUndiciPausedAssertion("client-h1 this.paused")).toBe(false);
  });

  it("after the assertion, a proxied request stuck on a broken connection is retried on a fresh one", async () => {
    let requests = 0;
    let stalled: (() => void) | null = null;
    const stalledSeen = new Promise<void>((r) => {
      stalled = r;
    });
    server = createServer((_req, res) => {
      requests++;
      if (requests === 1) {
        // headers and half the body, then nothing: the client hangs until something breaks it
        res.writeHead(200, { "content-length": "10" });
        res.write("hello");
        stalled?.();
        return;
      }
      res.writeHead(200, { "content-length": "10" });
      res.end("helloworld");
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const f = new HttpFetcher({
      url: `http://127.0.0.1:${port}/`,
      proxy: await startProxy(),
      retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2 },
      timeoutMs: 20_000,
    });
    const t0 = Date.now();
    try {
      const got = f.get("url", "config");
      await stalledSeen;
      process.emit("uncaughtException", pausedAssertion());
      const r = await got;
      expect(Buffer.from(r!.data).toString()).toBe("helloworld");
      expect(requests).toBe(2);
      expect(connects).toBeGreaterThanOrEqual(1);
      // retried at once, not after the 20 s body timeout
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      await f.close();
    }
    expect(guardListening()).toBe(false);
  });

  it("a direct (non-proxy) fetcher registers no guard", async () => {
    server = createServer((_req, res) => res.writeHead(200, { "content-length": "2" }).end("ok"));
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const f = new HttpFetcher({ url: `http://127.0.0.1:${port}/`, retry: { retries: 0 } });
    try {
      expect(guardListening()).toBe(false);
      expect(Buffer.from((await f.get("url", "config"))!.data).toString()).toBe("ok");
      expect(guardListening()).toBe(false);
    } finally {
      await f.close();
    }
  });
});

describe("transport options", () => {
  it("are refused out of range with BAD_CONFIG naming them, through a proxy as direct", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ connections: 0 }, /connections must be an integer from 1 to 1024, not 0/],
      [{ timeoutMs: -5 }, /timeoutMs must be an integer from 1 to 2147483647, not -5/],
      [{ timeoutMs: 1.5 }, /timeoutMs .* not 1\.5/],
    ];
    for (const viaProxy of [true, false]) {
      for (const [o, msg] of cases) {
        let err: unknown;
        try {
          new HttpFetcher({
            url: "http://127.0.0.1:9/repo/",
            ...(viaProxy ? { proxy: "http://127.0.0.1:9" } : {}),
            ...o,
          });
        } catch (e) {
          err = e;
        }
        expect((err as { code?: string })?.code, `${JSON.stringify(o)} proxy=${viaProxy}`).toBe("BAD_CONFIG");
        expect((err as Error).message).toMatch(msg);
      }
    }
  });
});
