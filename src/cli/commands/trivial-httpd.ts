/**
 * `trivial-httpd [DIR]` (as `ostree trivial-httpd`): serve a directory over HTTP from arbor itself,
 * so a demo needs no web server. `--daemonize` re-runs this command detached and returns once it
 * is listening (Node cannot fork); `-p FILE` writes the port; `--autoexit` stops when DIR is removed.
 */
import type { CommandSpec } from "../command.js";

const CHILD_ENV = "ARBOR_TRIVIAL_HTTPD_CHILD";

export const command: CommandSpec = {
  name: "trivial-httpd",
  summary: "Simple webserver",
  usage: "[OPTION…] [DIR]",
  maxArgs: 1,
  options: [
    { long: "daemonize", short: "d", help: "Fork into background when ready" },
    { long: "autoexit", help: "Automatically exit when directory is deleted" },
    { long: "port", short: "P", arg: "PORT", help: "Use the specified TCP port" },
    { long: "port-file", short: "p", arg: "PATH", help: "Write port number to PATH (- for standard output)" },
    { long: "force-range-requests", help: "Force range requests by only serving half of files" },
    { long: "require-basic-auth", help: "Require username foouser, password barpw" },
    {
      long: "random-500s",
      arg: "PERCENTAGE",
      help: "Generate random HTTP 500 errors approximately for PERCENTAGE requests",
    },
    { long: "random-500s-max", arg: "MAX", help: "Limit HTTP 500 errors to MAX (default 100)" },
    {
      long: "random-408s",
      arg: "PERCENTAGE",
      help: "Generate random HTTP 408 errors approximately for PERCENTAGE requests",
    },
    { long: "random-408s-max", arg: "MAX", help: "Limit HTTP 408 errors to MAX (default 100)" },
    { long: "log-file", arg: "PATH", help: "Put logs here (use - for stdout)" },
    {
      long: "expected-cookies",
      arg: "KEY=VALUE",
      repeat: true,
      help: "Expect given cookies in the http request",
    },
    {
      long: "expected-header",
      arg: "KEY=VALUE",
      repeat: true,
      help: "Expect given headers in the http request",
    },
  ],
  async run(ctx, args) {
    const { resolve } = await import("node:path");
    const fs = await import("node:fs");
    const { ArborError } = await import("../../errors.js");
    const dir = resolve(ctx.cwd, args.positional[0] ?? ".");
    const logFile = args.str("log-file");
    if (args.has("daemonize") && logFile === "-") {
      throw ctx.usageError("Cannot use --log-file=- and --daemonize at the same time");
    }
    if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      throw new ArborError("NOT_FOUND", `opendir(${args.positional[0] ?? "."}): No such file or directory`);
    }
    for (const k of ["random-500s", "random-408s"]) {
      const v = args.int(k) ?? 0;
      if (v < 0 || v > 99) throw new ArborError("USAGE", `Invalid --${k}=${v}`);
    }

    if (args.has("daemonize") && ctx.env[CHILD_ENV] !== "1") {
      // Run ourselves again, detached, without --daemonize; wait for its "ready" byte on fd 3.
      const { spawn } = await import("node:child_process");
      const argv = process.argv.slice(2).filter((a) => a !== "--daemonize" && a !== "-d");
      const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
        cwd: ctx.cwd,
        detached: true,
        stdio: ["ignore", "ignore", "ignore", "pipe"],
        env: { ...process.env, ...ctx.env, [CHILD_ENV]: "1" },
      });
      const status = await new Promise<number>((res) => {
        const pipe = child.stdio[3] as import("node:stream").Readable;
        pipe.once("data", (b: Buffer) => res(b[0] ?? 1));
        pipe.once("end", () => res(1));
        child.once("exit", () => res(1));
      });
      child.unref();
      (child.stdio[3] as import("node:stream").Readable).destroy();
      if (status !== 0) throw new ArborError("IO", "Child process failed during setup");
      return 0;
    }

    const { startTrivialHttpd } = await import("../../pull/trivial-httpd.js");
    let log: ((line: string) => void) | undefined;
    if (logFile) {
      const fd = logFile === "-" ? 1 : fs.openSync(resolve(ctx.cwd, logFile), "a", 0o600);
      log = (line) => {
        const d = new Date();
        const p2 = (n: number): string => String(n).padStart(2, "0");
        const ts = `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds() * 1000).padStart(6, "0")}`;
        fs.writeSync(fd, `${ts} - ${line}\n`);
      };
    }
    const kv = (list: string[]): Array<[string, string]> =>
      list.map((s) => {
        const i = s.indexOf("=");
        return [s.slice(0, i < 0 ? s.length : i), i < 0 ? "" : s.slice(i + 1)];
      });
    const srv = await startTrivialHttpd({
      root: dir,
      port: args.int("port") ?? 0,
      ...(log ? { log } : {}),
      random500s: args.int("random-500s") ?? 0,
      random500sMax: args.int("random-500s-max") ?? 100,
      random408s: args.int("random-408s") ?? 0,
      random408sMax: args.int("random-408s-max") ?? 100,
      forceRangeRequests: args.has("force-range-requests"),
      requireBasicAuth: args.has("require-basic-auth"),
      expectedHeaders: kv(args.list("expected-header")),
      expectedCookies: kv(args.list("expected-cookies")),
    });
    const portFile = args.str("port-file");
    if (portFile === "-") process.stdout.write(`${srv.port}\n`);
    else if (portFile) fs.writeFileSync(resolve(ctx.cwd, portFile), `${srv.port}\n`);
    if (ctx.env[CHILD_ENV] === "1") {
      try {
        fs.writeSync(3, Buffer.from([0]));
        fs.closeSync(3);
      } catch {}
    }
    log?.(`serving at root ${dir}`);
    if (args.has("autoexit")) {
      setInterval(() => {
        if (!fs.existsSync(dir)) {
          log?.("root directory removed, exiting");
          process.exit(0);
        }
      }, 500);
    }
    await new Promise<void>(() => {});
  },
};
