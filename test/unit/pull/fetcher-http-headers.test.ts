/**
 * The request headers HttpFetcher sends: libostree's User-Agent (with `--append-user-agent`),
 * `--http-header`s, and the remote's cookie jar entries that match the request (cookies.ts).
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Cookie } from "../../../src/pull/cookies.js";
import { DEFAULT_USER_AGENT, LIBOSTREE_COMPAT_VERSION } from "../../../src/pull/fetcher.js";
import { HttpFetcher, type HttpFetcherOptions } from "../../../src/pull/fetcher-http.js";

let server: Server;
let base: string;
const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? "", headers: req.headers });
    res.writeHead(200, { "content-length": "2" });
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** The headers of one GET of `path` under `BASE/repo/` with these fetcher options. */
async function headersOf(o: Omit<HttpFetcherOptions, "url">, path = "config"): Promise<IncomingHttpHeaders> {
  const f = new HttpFetcher({ ...o, url: `${base}/repo/`, retry: { retries: 0 } });
  try {
    const before = seen.length;
    await f.get("url", path);
    expect(seen).toHaveLength(before + 1);
    expect(seen[before]!.url).toBe(`/repo/${path}`);
    return seen[before]!.headers;
  } finally {
    await f.close();
  }
}

function cookie(c: Partial<Cookie> & { name: string }): Cookie {
  return {
    domain: "127.0.0.1",
    includeSubdomains: false,
    path: "/",
    secure: false,
    expires: 0,
    value: "v",
    ...c,
  };
}

describe("HttpFetcher request headers", () => {
  it("sends libostree's User-Agent, with --append-user-agent's text after a space", async () => {
    expect(DEFAULT_USER_AGENT).toBe(`libostree/${LIBOSTREE_COMPAT_VERSION}`);
    expect((await headersOf({}))["user-agent"]).toBe(DEFAULT_USER_AGENT);
    expect((await headersOf({ appendUserAgent: "flatpak/1.0" }))["user-agent"]).toBe(
      `${DEFAULT_USER_AGENT} flatpak/1.0`,
    );
  });

  it("sends --http-header values (names case-insensitive, replacing the defaults)", async () => {
    const h = await headersOf({
      headers: [
        ["X-Token", "secret"],
        ["User-Agent", "mine"],
      ],
    });
    expect(h["x-token"]).toBe("secret");
    expect(h["user-agent"]).toBe("mine");
  });

  it("sends only the jar's cookies matching host, path, scheme and expiry; none without a jar", async () => {
    expect((await headersOf({})).cookie).toBeUndefined();
    const now = Math.floor(Date.now() / 1000);
    const h = await headersOf({
      cookies: [
        cookie({ name: "root", value: "1" }),
        cookie({ name: "repo", path: "/repo", value: "2" }),
        cookie({ name: "later", expires: now + 3600, value: "3" }),
        cookie({ name: "other-path", path: "/other" }),
        cookie({ name: "prefix-only", path: "/rep" }),
        cookie({ name: "other-host", domain: "example.com" }),
        cookie({ name: "secure", secure: true }),
        cookie({ name: "expired", expires: now - 10 }),
      ],
    });
    expect(h.cookie).toBe("root=1; repo=2; later=3");
    const none = await headersOf({ cookies: [cookie({ name: "other-path", path: "/other" })] });
    expect(none.cookie).toBeUndefined();
  });
});
