/**
 * A small static file server (what `ostree trivial-httpd` is): enough to serve an archive
 * repository to `pull` without installing a web server — GET/HEAD of regular files with ETag
 * (SHA-256 of the content, as ostree's) and Last-Modified, conditional requests (304), single
 * byte ranges (206), directory redirects and listings, 404s. Paths never leave the root
 * (`..` and symlinks pointing outside are refused). Test knobs as in ostree's: random 500s/408s,
 * forced half-served objects, basic auth, expected headers and cookies.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, realpathSync, type Stats, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, sep } from "node:path";

export interface TrivialHttpdOptions {
  root: string;
  /** TCP port (0 = any free port). */
  port?: number;
  /** Address to listen on (default all, like ostree's). */
  host?: string;
  log?: (line: string) => void;
  random500s?: number;
  random500sMax?: number;
  random408s?: number;
  random408sMax?: number;
  forceRangeRequests?: boolean;
  requireBasicAuth?: boolean;
  expectedHeaders?: Array<[string, string]>;
  expectedCookies?: Array<[string, string]>;
}

export interface TrivialHttpd {
  server: Server;
  port: number;
  close(): Promise<void>;
}

function html(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Resolve a request path under root, or null when it would escape it or does not exist. */
function resolveUnder(root: string, urlPath: string): { path: string; st: Stats } | null {
  const parts = urlPath.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) return null;
  const p = join(root, ...parts);
  try {
    const real = realpathSync(p);
    if (real !== root && !real.startsWith(root + sep)) return null;
    return { path: real, st: statSync(real) };
  } catch {
    return null;
  }
}

function parseRange(h: string | undefined, size: number): [number, number] | null | "bad" {
  if (!h) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start: number;
  let end: number;
  if (m[1] === "") {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return "bad";
  return [start, end];
}

/** Start serving. Resolves once listening. */
export async function startTrivialHttpd(o: TrivialHttpdOptions): Promise<TrivialHttpd> {
  const root = realpathSync(o.root);
  const log = o.log ?? (() => {});
  let n500 = 0;
  let n408 = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const urlPath = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    log(`serving ${urlPath}`);
    for (const [k, v] of o.expectedHeaders ?? []) {
      if (req.headers[k.toLowerCase()] !== v) {
        res.writeHead(400).end(`Expected header ${k}: ${v}\n`);
        return;
      }
    }
    for (const [k, v] of o.expectedCookies ?? []) {
      const cookies = (req.headers.cookie ?? "").split(";").map((c) => c.trim());
      if (!cookies.includes(`${k}=${v}`)) {
        res.writeHead(400).end(`Expected cookie ${k}=${v}\n`);
        return;
      }
    }
    if (
      o.requireBasicAuth &&
      req.headers.authorization !== `Basic ${Buffer.from("foouser:barpw").toString("base64")}`
    ) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="auth-test"' }).end();
      return;
    }
    if (o.random500s && n500 < (o.random500sMax ?? 100) && Math.random() * 100 < o.random500s) {
      n500++;
      res.writeHead(500).end();
      return;
    }
    if (o.random408s && n408 < (o.random408sMax ?? 100) && Math.random() * 100 < o.random408s) {
      n408++;
      res.writeHead(408).end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(501).end();
      return;
    }
    const found = resolveUnder(root, urlPath);
    if (!found) {
      res.writeHead(404, { "content-type": "text/plain" }).end("Not found\n");
      return;
    }
    if (found.st.isDirectory()) {
      if (!urlPath.endsWith("/")) {
        res.writeHead(301, { location: `${urlPath}/` }).end();
        return;
      }
      const names = readdirSync(found.path).sort();
      if (names.includes("index.html")) {
        res.writeHead(200, { "content-type": "text/html" }).end(readFileSync(join(found.path, "index.html")));
        return;
      }
      const body = `<html>\r\n<body>\r\n${names.map((n) => `<a href="${html(encodeURIComponent(n))}">${html(n)}</a><br>\r\n`).join("")}</body>\r\n</html>\r\n`;
      res.writeHead(200, { "content-type": "text/html" }).end(req.method === "HEAD" ? undefined : body);
      return;
    }
    if (!found.st.isFile()) {
      res.writeHead(403).end();
      return;
    }
    const data = readFileSync(found.path);
    const etag = `"${createHash("sha256").update(data).digest("hex")}"`;
    const lastModified = new Date(Math.floor(found.st.mtimeMs / 1000) * 1000).toUTCString();
    const headers: Record<string, string | number> = {
      etag,
      "last-modified": lastModified,
      "accept-ranges": "bytes",
    };
    const inm = req.headers["if-none-match"];
    const ims = req.headers["if-modified-since"];
    if ((inm && inm === etag) || (!inm && ims && Date.parse(ims) >= Date.parse(lastModified))) {
      res.writeHead(304, headers).end();
      return;
    }
    if (req.method === "HEAD") {
      res.writeHead(200, { ...headers, "content-length": data.length }).end();
      return;
    }
    const range = parseRange(req.headers.range, data.length);
    if (range === "bad") {
      res.writeHead(416, { "content-range": `bytes */${data.length}` }).end();
      return;
    }
    if (range) {
      const [a, b] = range;
      res
        .writeHead(206, {
          ...headers,
          "content-range": `bytes ${a}-${b}/${data.length}`,
          "content-length": b - a + 1,
        })
        .end(data.subarray(a, b + 1));
      return;
    }
    if (o.forceRangeRequests && urlPath.includes("/objects")) {
      // serve half and close, so the client must resume or retry
      res.writeHead(200, { ...headers, "content-length": data.length, connection: "close" });
      res.write(data.subarray(0, Math.floor(data.length / 2)), () => req.socket.destroy());
      return;
    }
    res.writeHead(200, { ...headers, "content-length": data.length }).end(data);
  };
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
