/**
 * Test web servers on 127.0.0.1:
 *  - {@link startNginx}: the real nginx, with a config written into the test's temp dir, on a
 *    free port, serving one directory; stopped by its pid. The reference static server.
 *  - {@link startFaultServer}: a tiny Node server over a directory that misbehaves on purpose
 *    (drops connections mid-body, corrupts, truncates, 404s, 500s, stalls, sends extra bytes),
 *    decided per request by the test.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as netServer } from "node:net";
import { join, normalize, resolve, sep } from "node:path";

/** A free TCP port on 127.0.0.1 (best effort: bind port 0, close, return it). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = netServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
}

export interface RunningServer {
  url: string;
  port: number;
  /** Paths requested so far (nginx: read from its access log). */
  requests(): string[];
  stop(): Promise<void>;
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function canConnect(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((res) => {
    const c = connect(port, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      res(true);
    });
    c.once("error", () => res(false));
  });
}

/**
 * Start nginx serving `root` (read-only) with its config, logs and pid under `dir`.
 * @example const srv = await startNginx({ root: repoPath, dir: tmp }); … await srv.stop();
 */
export async function startNginx(o: { root: string; dir: string }): Promise<RunningServer> {
  const conf = join(o.dir, "nginx");
  mkdirSync(join(conf, "logs"), { recursive: true });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const cfg = `worker_processes 1;
user root;
daemon off;
error_log ${conf}/logs/error.log warn;
pid ${conf}/nginx.pid;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  access_log ${conf}/logs/access.log;
  client_body_temp_path ${conf}/client_body;
  proxy_temp_path ${conf}/proxy;
  fastcgi_temp_path ${conf}/fastcgi;
  uwsgi_temp_path ${conf}/uwsgi;
  scgi_temp_path ${conf}/scgi;
  sendfile on;
  keepalive_requests 10000;
  server {
    listen 127.0.0.1:${port};
    root ${resolve(o.root)};
    location / { autoindex off; }
  }
}
`;
    writeFileSync(join(conf, "nginx.conf"), cfg);
    const child: ChildProcess = spawn("nginx", ["-p", conf, "-c", join(conf, "nginx.conf")], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let exited = false;
    child.once("exit", () => {
      exited = true;
    });
    for (let i = 0; i < 250 && !exited; i++) {
      if (await canConnect(port)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (exited) continue; // port taken meanwhile: try another
    const log = join(conf, "logs", "access.log");
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      requests: () =>
        existsSync(log)
          ? readFileSync(log, "utf8")
              .split("\n")
              .filter(Boolean)
              .map((l) => /"GET ([^ ]+)/.exec(l)?.[1] ?? "")
          : [],
      stop: async () => {
        if (!exited && child.pid) process.kill(child.pid, "SIGQUIT");
        await waitFor(() => exited, 5000, "nginx to stop").catch(() => {
          if (child.pid) process.kill(child.pid, "SIGKILL");
        });
      },
    };
  }
  throw new Error("Could not start nginx on a free port");
}

/** What the fault server does with one request. */
export type FaultAction =
  | { kind: "serve" }
  | { kind: "status"; code: number }
  /** Send the headers (full Content-Length) and this many body bytes, then destroy the socket. */
  | { kind: "drop"; after: number }
  /** Serve with these bytes flipped (same length). */
  | { kind: "corrupt" }
  /** Serve only the first `bytes` bytes, with a matching Content-Length. */
  | { kind: "truncate"; bytes: number }
  /** Wait this long before answering (then serve). */
  | { kind: "stall"; ms: number }
  /** Serve the file followed by `extra` junk bytes (chunked: no Content-Length). */
  | { kind: "oversize"; extra: number };

export interface FaultServer extends RunningServer {
  /** Per-path request counts. */
  counts: Map<string, number>;
}

/**
 * A Node HTTP server over `root`; `decide(path, n)` (n = how many times this path was asked,
 * from 1) picks the behaviour for each request.
 */
export async function startFaultServer(o: {
  root: string;
  decide?: (path: string, n: number) => FaultAction;
}): Promise<FaultServer> {
  const root = resolve(o.root);
  const counts = new Map<string, number>();
  const log: string[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent((req.url ?? "/").split("?")[0]!);
    log.push(path);
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    const file = normalize(join(root, path));
    let data: Buffer | null = null;
    if (file.startsWith(root + sep) && existsSync(file) && statSync(file).isFile()) data = readFileSync(file);
    let action = o.decide ? o.decide(path, n) : { kind: "serve" as const };
    if (action.kind === "stall") {
      await new Promise((r) => setTimeout(r, action.kind === "stall" ? action.ms : 0));
      action = { kind: "serve" };
    }
    if (action.kind === "status") {
      res.writeHead(action.code, { "content-type": "text/plain" }).end(`status ${action.code}\n`);
      return;
    }
    if (!data) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    switch (action.kind) {
      case "serve":
        res.writeHead(200, { "content-length": data.length }).end(data);
        return;
      case "drop":
        res.writeHead(200, { "content-length": data.length });
        res.write(data.subarray(0, Math.min(action.after, data.length)), () => req.socket.destroy());
        return;
      case "corrupt": {
        const bad = Buffer.from(data);
        for (let i = Math.floor(bad.length / 2); i < bad.length; i += 7) bad[i] = bad[i]! ^ 0x55;
        res.writeHead(200, { "content-length": bad.length }).end(bad);
        return;
      }
      case "truncate": {
        const part = data.subarray(0, Math.min(action.bytes, data.length));
        res.writeHead(200, { "content-length": part.length }).end(part);
        return;
      }
      case "oversize":
        res.writeHead(200);
        res.write(data);
        res.end(Buffer.alloc(action.extra, 0x41));
        return;
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    counts,
    requests: () => [...log],
    stop: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
