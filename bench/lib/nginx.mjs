// A throwaway nginx on 127.0.0.1 serving a directory (an archive repo) for the
// pull scenarios. Its config, pid file, logs and temp paths all live in the
// bench's own temp dir; it is stopped by the pid in that pid file, nothing else.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function httpStatus(url) {
  return new Promise((res) => {
    const req = request(url, { method: "HEAD", timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode);
    });
    req.on("error", () => res(0));
    req.on("timeout", () => {
      req.destroy();
      res(0);
    });
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts nginx serving `root` on 127.0.0.1:<free port>.
 * @returns {Promise<{url:string, port:number, dir:string, stop:() => Promise<void>}>}
 */
export async function startNginx({ root, dir, nginxBin = "nginx" }) {
  mkdirSync(join(dir, "tmp"), { recursive: true });
  const port = await freePort();
  const pidFile = join(dir, "nginx.pid");
  const conf = join(dir, "nginx.conf");
  const asRoot = process.getuid?.() === 0;
  writeFileSync(
    conf,
    `# written by arbor bench/run.mjs
${asRoot ? "user root root;  # the bench's temp dirs are 0700 root" : ""}
worker_processes 1;
daemon on;
pid ${pidFile};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 512; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  default_type application/octet-stream;
  client_body_temp_path ${join(dir, "tmp")};
  proxy_temp_path ${join(dir, "tmp")};
  fastcgi_temp_path ${join(dir, "tmp")};
  uwsgi_temp_path ${join(dir, "tmp")};
  scgi_temp_path ${join(dir, "tmp")};
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / { autoindex off; }
  }
}
`,
  );
  const r = spawnSync(nginxBin, ["-e", join(dir, "error.log"), "-p", dir, "-c", conf], { encoding: "utf8" });
  if (r.status !== 0)
    throw new Error(`nginx failed to start: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; (await httpStatus(`${url}/config`)) !== 200; i++) {
    if (i > 50)
      throw new Error(`nginx on ${url} did not serve ${root}/config; see ${join(dir, "error.log")}`);
    await sleep(100);
  }
  let stopped = false;
  const stop = async () => {
    if (stopped || !existsSync(pidFile)) return;
    stopped = true;
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (!pid) return;
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      return;
    }
    for (let i = 0; i < 50; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        return;
      }
      await sleep(100);
    }
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  };
  return { url, port, dir, stop };
}
