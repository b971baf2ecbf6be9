// Runs one child process under GNU time and reports its wall time and peak RSS.
// Wall time is measured here with a monotonic clock around spawn..exit (GNU
// time's own %e has only 10 ms resolution, too coarse for startup runs); the
// peak RSS (%M, KiB, the child's maxrss from wait4) comes from GNU time, which
// Node cannot get for a child by itself. GNU time adds ~1 ms of fork/exec,
// the same for both tools.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const TIME_BIN = "/usr/bin/time";

/** Installs Debian's `time` package when /usr/bin/time is absent (we are root). */
export function ensureGnuTime() {
  if (existsSync(TIME_BIN)) return;
  console.error("bench: /usr/bin/time is missing; installing Debian package 'time'");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = spawnSync("apt-get", ["install", "-y", "-qq", "time"], { stdio: "inherit", env });
  if (r.status !== 0) {
    spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    r = spawnSync("apt-get", ["install", "-y", "-qq", "time"], { stdio: "inherit", env });
  }
  if (r.status !== 0 || !existsSync(TIME_BIN))
    throw new Error("cannot install GNU time (apt-get install time)");
}

/** `sync` always (dirty pages of the previous run must not be flushed during
 * the next one); with dropCaches also empties the page cache (needs root). */
export function settle({ dropCaches }) {
  spawnSync("sync");
  if (dropCaches) writeFileSync("/proc/sys/vm/drop_caches", "3\n");
}

const CAP = 1 << 20; // keep at most 1 MiB of each output stream

/**
 * The environment timed commands run in: `env` without NODE_EXTRA_CA_CERTS. Some sandboxes set
 * it for their TLS proxy, and Node then parses the whole CA bundle at every start-up (50 ms on
 * the 2-core VM of the README's tables), a cost a Debian machine running arbor does not have and
 * that `ostree` never pays. Nothing timed here uses TLS (nginx serves plain HTTP on 127.0.0.1).
 */
export function timedEnv(env) {
  const { NODE_EXTRA_CA_CERTS: _, ...rest } = env;
  return rest;
}

/**
 * Runs argv under GNU time, in {@link timedEnv}(env ?? process.env).
 * @returns {Promise<{ok:boolean, code:number|null, signal:string|null, wallS:number,
 *   rssKB:number|null, stdout:string, stderr:string, timedOut:boolean}>}
 */
export function runMeasured(argv, { cwd, env, timeoutS = 1800, scratch }) {
  const tf = join(scratch, `time.${process.pid}.${Math.random().toString(36).slice(2)}`);
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(TIME_BIN, ["-f", "%e %M", "-o", tf, ...argv], {
      cwd,
      env: timedEnv(env ?? process.env),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group, so a timeout kills the tool too, not just `time`
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      if (stdout.length < CAP) stdout += d;
    });
    child.stderr.on("data", (d) => {
      if (stderr.length < CAP) stderr += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    }, timeoutS * 1000);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({
        ok: false,
        code: null,
        signal: null,
        wallS: 0,
        rssKB: null,
        stdout,
        stderr: String(err),
        timedOut,
      });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
      let rssKB = null;
      let childCode = code;
      try {
        // GNU time writes "Command exited with non-zero status N" (or
        // "Command terminated by signal N") before the formatted line.
        const lines = readFileSync(tf, "utf8").trim().split("\n");
        const m = /^([\d.]+) (\d+)$/.exec(lines.at(-1) ?? "");
        if (m) rssKB = Number(m[2]);
        const ex = lines.map((l) => /non-zero status (\d+)/.exec(l)).find(Boolean);
        if (ex) childCode = Number(ex[1]);
      } catch {
        /* time was killed before writing */
      }
      rmSync(tf, { force: true });
      resolve({
        ok: code === 0 && !timedOut,
        code: childCode,
        signal,
        wallS,
        rssKB,
        stdout,
        stderr,
        timedOut,
      });
    });
  });
}

/** Runs a helper command (setup, not measured); throws with its stderr on failure. */
export function sh(argv, opts = {}) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8", maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) {
    const msg = (r.stderr || r.stdout || String(r.error || "")).trim().split("\n")[0];
    throw new Error(`${argv.join(" ")}: exit ${r.status}: ${msg}`);
  }
  return r.stdout;
}

export function median(xs) {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** First meaningful line of a failed child's stderr (or stdout), for the report. */
export function firstLine(r) {
  if (r.timedOut) return "timed out";
  const text = `${r.stderr}\n${r.stdout}`;
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^Command (exited|terminated)/.test(l));
  // A Node crash starts with "file:line" and the source line; the error itself is more telling.
  const line = lines.find((l) => /^(error:|\w*Error\b)/i.test(l)) ?? lines[0];
  const tail = r.signal ? ` (signal ${r.signal})` : r.code != null ? ` (exit ${r.code})` : "";
  return `${(line ?? "no output").slice(0, 200)}${tail}`;
}
