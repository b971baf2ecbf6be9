import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { CommandSpec } from "../../../src/cli/command.js";
import {
  COMMANDS,
  commandOptions,
  programName,
  run as runCli,
  type TableEntry,
  versionText,
} from "../../../src/cli/main.js";
import { ArborError } from "../../../src/errors.js";
import { captureSink, cli, fakeRepo, makeTmpDir } from "./_helpers.js";

const echo: CommandSpec = {
  name: "echo",
  summary: "Print the arguments",
  usage: "[OPTION…] WORD...",
  minArgs: 1,
  argsError: "A WORD argument is required",
  options: [
    { long: "upper", short: "u", help: "Upper-case the words" },
    { long: "sep", short: "s", arg: "SEP", help: "Separator between words" },
    { long: "tag", arg: "TAG", repeat: true, help: "Add a tag" },
    { long: "view", short: "v", help: "Takes -v away from --verbose" },
  ],
  async run(ctx, args) {
    let words = args.positional.join(args.str("sep") ?? " ");
    if (args.has("upper")) words = words.toUpperCase();
    ctx.out.line(words);
    for (const t of args.list("tag")) ctx.out.line(`tag ${t}`);
    if (args.has("view")) ctx.out.line("view");
    if (ctx.verbose) ctx.out.line("verbose");
  },
};

const where: CommandSpec = {
  name: "where",
  summary: "Print the repository path",
  usage: "[OPTION…] REV",
  repo: true,
  minArgs: 1,
  maxArgs: 1,
  argsError: "REV must be specified",
  options: [],
  async run(ctx) {
    ctx.out.line(ctx.repoPath());
  },
};

const spec = (name: string, run: CommandSpec["run"], extra: Partial<CommandSpec> = {}): CommandSpec => ({
  name,
  summary: `The ${name} command`,
  usage: "[OPTION…]",
  options: [],
  run,
  ...extra,
});

const TABLE: TableEntry[] = [
  { path: "echo", summary: "Print the arguments", load: async () => ({ command: echo }) },
  {
    path: "interruptible",
    summary: "Uses the Ctrl-C signal",
    load: async () => ({
      command: spec("interruptible", async (ctx) => {
        if (ctx.signal.aborted) throw new Error("aborted already");
        if (process.listenerCount("SIGINT") < 1) throw new Error("no SIGINT listener while running");
      }),
    }),
  },
  { path: "where", summary: "Print the repository path", load: async () => ({ command: where }) },
  { path: "todo", summary: "Not written yet", load: "commands/todo.ts" },
  { path: "grp", summary: "A group of commands" },
  {
    path: "grp sub",
    summary: "A subcommand",
    load: async () => ({ command: spec("grp sub", async (ctx) => ctx.out.line(`sub ${ctx.sysrootPath()}`)) }),
  },
  { path: "admin", summary: "Admin things" },
  {
    path: "admin status",
    summary: "List deployments",
    load: async () => ({ command: spec("admin status", async (ctx) => ctx.out.line(ctx.sysrootPath())) }),
  },
  {
    path: "fails",
    summary: "Fails as expected",
    load: async () => ({
      command: spec("fails", async () => {
        throw new ArborError("NOT_FOUND", "Refspec 'x' not found");
      }),
    }),
  },
  {
    path: "boom",
    summary: "Has a bug",
    load: async () => ({
      command: spec("boom", async () => {
        throw new TypeError("kaboom");
      }),
    }),
  },
  { path: "code", summary: "Returns 3", load: async () => ({ command: spec("code", async () => 3) }) },
  {
    path: "native",
    summary: "An arbor-only verb",
    native: true,
    load: async () => ({ command: spec("native", async () => {}, { minArgs: 1, options: [] }) }),
  },
  {
    path: "status",
    summary: "Supports JSON",
    load: async () => ({
      command: spec(
        "status",
        async (ctx) => {
          if (ctx.json) ctx.printJson("Status", { ok: true });
          else ctx.out.line("ok");
        },
        { json: true },
      ),
    }),
  },
  {
    path: "secret",
    summary: "Hidden verb",
    hidden: true,
    load: async () => ({ command: spec("secret", async () => {}) }),
  },
];

const run = (argv: string[], env: Record<string, string> = {}, cwd?: string) =>
  cli(argv, { table: TABLE, env, ...(cwd ? { cwd } : {}) });

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = makeTmpDir();
});
afterEach(() => tmp.cleanup());

describe("run(): dispatch and options", () => {
  it("runs a command with permuted options, grouped shorts, repeats and --", async () => {
    const r = await run(["echo", "a", "-us", "+", "b", "--tag=x", "--tag", "y", "--", "-c"]);
    expect(r).toEqual({ code: 0, out: "A+B+-C\ntag x\ntag y\n", err: "" });
  });

  it("accepts global options before the verb (ostree --repo=R verb)", async () => {
    const repo = fakeRepo(`${tmp.dir}/r`);
    const r = await run([`--repo=${repo}`, "where", "HEAD"]);
    expect(r.out).toBe(`${repo}\n`);
    const s = await run(["--repo", repo, "where", "HEAD"]);
    expect(s.out).toBe(`${repo}\n`);
  });

  it("gives -v to a command option that claims it; --verbose still works", async () => {
    expect((await run(["echo", "x", "-v"])).out).toBe("x\nview\n");
    expect((await run(["echo", "x", "--verbose"])).out).toBe("x\nverbose\n");
  });

  it("stops listening for Ctrl-C when a command returns (many commands in one process)", async () => {
    const before = process.listenerCount("SIGINT");
    for (let i = 0; i < 12; i++) expect((await run(["interruptible"])).code).toBe(0);
    expect(process.listenerCount("SIGINT")).toBe(before);
  });

  it("returns the command's exit code", async () => {
    expect((await run(["code"])).code).toBe(3);
  });

  it("prints an unknown option error without usage, exit 1 (as ostree)", async () => {
    const r = await run(["echo", "x", "--bogus"]);
    expect(r).toEqual({ code: 1, out: "", err: "error: Unknown option --bogus\n" });
  });

  it("prints help and the error for a missing argument, exit 1", async () => {
    const r = await run(["echo"]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^Usage:\n {2}ostree echo \[OPTION…\] WORD\.\.\.\n/);
    // ostree's argument errors: help, a blank line, the error.
    expect(
      r.err.endsWith(
        "--version         Print version information and exit\n\n\nerror: A WORD argument is required\n",
      ),
    ).toBe(true);
  });

  it("rejects too many arguments", async () => {
    const repo = fakeRepo(`${tmp.dir}/r`);
    const r = await run(["where", "a", "b", `--repo=${repo}`]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/error: REV must be specified\n$/);
  });

  it("reports a missing repository before a missing argument (ostree's order)", async () => {
    const r = await run(["where"], { OSTREE_SYSROOT: tmp.dir }, tmp.dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^Usage:\n {2}ostree where /);
    expect(r.err).toMatch(/exit\n\nerror: Command requires a --repo argument\n$/);
  });

  it("uses exit code 2 for usage errors of arbor-only verbs", async () => {
    expect((await run(["native"])).code).toBe(2);
    expect((await run(["native", "x", "--bogus"])).code).toBe(2);
  });

  it("prints expected errors as 'error: …', exit 1", async () => {
    expect(await run(["fails"])).toEqual({ code: 1, out: "", err: "error: Refspec 'x' not found\n" });
  });

  it("prints bugs without a stack unless ARBOR_DEBUG=1", async () => {
    expect(await run(["boom"])).toEqual({ code: 1, out: "", err: "error: kaboom\n" });
    const d = await run(["boom"], { ARBOR_DEBUG: "1" });
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/^error: kaboom\nTypeError: kaboom\n\s+at /);
  });

  it("says a listed but unwritten command is not implemented", async () => {
    expect(await run(["todo", "x"])).toEqual({
      code: 1,
      out: "",
      err: 'error: "todo" is not implemented yet\n',
    });
    const h = await run(["todo", "--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(/^Usage:\n {2}ostree todo \[OPTION…\]\n\nNot written yet\n/);
  });

  it("exits 0 quietly when the reader of stdout goes away (EPIPE), as ostree does", async () => {
    let written = 0;
    const table: TableEntry[] = [
      {
        path: "many",
        summary: "Prints a lot",
        load: async () => ({
          command: spec("many", async (ctx) => {
            for (let i = 0; i < 1_000_000; i++) ctx.out.line(`line ${i}`);
          }),
        }),
      },
    ];
    const err = captureSink();
    const code = await runCli(["many"], {
      table,
      env: {},
      stderr: err,
      stdout: {
        write(chunk) {
          written += chunk.length;
          if (written > 100_000) throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
        },
      },
    });
    expect(code).toBe(0);
    expect(err.text()).toBe("");
    expect(written).toBeLessThan(300_000);
  });

  it("offers --json only where the command does", async () => {
    expect((await run(["status", "--json"])).out).toBe(
      '{"apiVersion":"arbor/v1","kind":"Status","ok":true}\n',
    );
    expect((await run(["status"])).out).toBe("ok\n");
    expect((await run(["echo", "x", "--json"])).err).toBe("error: Unknown option --json\n");
  });

  it("resolves --sysroot for nested commands, else $OSTREE_SYSROOT, else /", async () => {
    expect((await run(["grp", "sub", "--sysroot=/x/y"])).out).toBe("sub /x/y\n");
    expect((await run(["admin", "--sysroot=/s", "status"])).out).toBe("/s\n");
    expect((await run(["admin", "status"], { OSTREE_SYSROOT: "/env" })).out).toBe("/env\n");
    expect((await run(["admin", "status"])).out).toBe("/\n");
  });

  it("prints --version anywhere, exit 0, after a clean parse", async () => {
    const v = versionText();
    expect(await run(["--version"])).toEqual({ code: 0, out: v, err: "" });
    expect((await run(["echo", "--version"])).out).toBe(v);
    expect((await run(["grp", "--version"])).out).toBe(v);
    expect((await run(["echo", "--version", "--bogus"])).code).toBe(1);
  });
});

describe("run(): help (what OSTree's test-help.sh checks)", () => {
  it("prints the top-level help to stdout with the visible verbs", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    expect(r.out).toMatch(/^Usage:\n {2}ostree \[OPTION…\] COMMAND\n\nBuiltin Commands:\n {2}echo {14}Print/);
    expect(r.out).toContain("\n  grp ");
    expect(r.out).not.toContain("secret");
    expect(r.out).toContain("Help Options:\n  -h, --help        Show help options\n");
    expect(r.out).toContain("Application Options:\n  -v, --verbose     Print debug information");
    expect(r.out).not.toContain("--repo");
    expect(r.out.endsWith("\n\n")).toBe(true);
  });

  it("fails without a command: usage on stderr, exit 1", async () => {
    const r = await run([]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toMatch(/^Usage:\n/);
    expect(r.err.endsWith("\nerror: No command specified\n")).toBe(true);
  });

  it("fails for an unknown command, but --help after it still prints help", async () => {
    const r = await run(["bogus"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^Usage:/);
    expect(r.err.endsWith("\nerror: Unknown command 'bogus'\n")).toBe(true);
    expect((await run(["bogus", "--help"])).code).toBe(0);
  });

  it("prints group help and group errors like ostree", async () => {
    const h = await run(["grp", "--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toMatch(
      /^Usage:\n {2}ostree grp \[OPTION…\] COMMAND\n\nA group of commands\n\nBuiltin "grp" Commands:\n {2}sub /,
    );
    const none = await run(["grp"]);
    expect(none.code).toBe(1);
    expect(none.out).toBe("");
    expect(none.err.endsWith('\nerror: No "grp" subcommand specified\n')).toBe(true);
    const bad = await run(["grp", "nope"]);
    expect(bad.code).toBe(1);
    expect(bad.err.endsWith("\nerror: Unknown \"grp\" subcommand 'nope'\n")).toBe(true);
    const opt = await run(["grp", "--bogus"]);
    expect(opt.code).toBe(1);
    expect(opt.err).toMatch(/^Usage:[\s\S]*\nerror: Unknown option --bogus\n$/);
  });

  it("lists --sysroot in admin help and --repo in repo commands' help", async () => {
    expect((await run(["admin", "--help"])).out).toContain("Application Options:\n  --sysroot=PATH ");
    expect((await run(["admin", "status", "--help"])).out).toContain(
      "Application Options:\n  --sysroot=PATH ",
    );
    const w = await run(["where", "--help"]);
    expect(w.out).toContain("Application Options:\n  --repo=PATH ");
    expect(w.out).not.toContain("--sysroot");
  });

  it("prints command help with every visible option, exit 0", async () => {
    const r = await run(["echo", "-h"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    for (const s of [
      "-u, --upper",
      "-s, --sep=SEP",
      "--tag=TAG",
      "-v, --view",
      "  --verbose ",
      "--version",
    ]) {
      expect(r.out).toContain(s);
    }
    expect(r.out).not.toContain("-v, --verbose");
  });
});

describe("the real command table", () => {
  const listed = (path: string) =>
    COMMANDS.filter((e) => {
      const words = e.path.split(" ");
      return words.slice(0, -1).join(" ") === path && !e.hidden;
    }).map((e) => e.path);
  const isGroup = (path: string) => COMMANDS.some((e) => e.path.startsWith(`${path} `));

  it("has every ostree verb and the nested groups", () => {
    const paths = new Set(COMMANDS.map((e) => e.path));
    for (const v of [
      "init",
      "commit",
      "checkout",
      "log",
      "show",
      "ls",
      "cat",
      "refs",
      "rev-parse",
      "diff",
      "fsck",
      "prune",
      "pull",
      "pull-local",
      "config",
      "reset",
      "checksum",
      "export",
      "summary",
      "sign",
      "gpg-sign",
      "trivial-httpd",
      "compose",
      "remote add",
      "remote list",
      "admin deploy",
      "admin status",
      "admin instutil set-kargs",
      "admin kargs edit-in-place",
      "static-delta generate",
      "static-delta apply-offline",
    ]) {
      expect(paths.has(v), v).toBe(true);
    }
  });

  // Mirrors OSTree's tests/test-help.sh: walk every listed command recursively.
  it("answers --help for every listed command and fails for bare groups", async () => {
    const walk = async (path: string): Promise<void> => {
      const words = path ? path.split(" ") : [];
      const cmd = ["ostree", ...words].join(" ");
      const h = await cli([...words, "--help"]);
      expect(h.code, cmd).toBe(0);
      expect(h.err, cmd).toBe("");
      expect(h.out.match(/^Usage/gm), cmd).toHaveLength(1);
      expect(h.out, cmd).toContain(cmd);
      if (path && !isGroup(path)) return;
      const bare = await cli(words);
      expect(bare.code, cmd).not.toBe(0);
      expect(bare.out, cmd).toBe("");
      expect(bare.err.match(/^Usage/gm), cmd).toHaveLength(1);
      expect(bare.err, cmd).toMatch(/No ("[^"]*" sub)?command specified/);
      const bad = await cli([...words, "non-existent-subcommand"]);
      expect(bad.code, cmd).not.toBe(0);
      expect(bad.out, cmd).toBe("");
      expect(bad.err, cmd).toMatch(/Unknown ("[^"]*" sub)?command/);
      for (const child of listed(path)) await walk(child);
    };
    await walk("");
  });

  it("lists builtin commands the way test-help.sh parses them", async () => {
    const { out } = await cli(["admin", "--help"]);
    const block = /^Builtin "admin" Commands:\n([\s\S]*?)\n\n/m.exec(out);
    const names = block![1]!.split("\n").map((l) => l.trim().split(" ")[0]);
    expect(names).toContain("deploy");
    expect(names).not.toContain("instutil");
  });
});

describe("programName()", () => {
  it("answers to ostree when invoked as ostree, else arbor", () => {
    expect(programName({}, "/usr/bin/arbor")).toBe("arbor");
    expect(programName({}, "/usr/local/bin/ostree")).toBe("ostree");
    expect(programName({ _: "/tmp/shim/ostree" }, "/work/bin/arbor")).toBe("ostree");
    expect(programName({ ARBOR_PROG: "x" }, "/usr/local/bin/ostree")).toBe("x");
  });
});

describe("commandOptions()", () => {
  it("orders --repo first, command options, then -v and --version; own options override globals", () => {
    const opts = commandOptions(
      { repo: true, json: true, options: [{ long: "sysroot", arg: "PATH", help: "Use sysroot at PATH" }] },
      false,
    );
    expect(opts.filter((o) => !o.hidden).map((o) => o.long)).toEqual([
      "repo",
      "sysroot",
      "json",
      "verbose",
      "version",
    ]);
    expect(opts.find((o) => o.long === "sysroot")!.help).toBe("Use sysroot at PATH");
  });
});

describe("versionText()", () => {
  it("prints ostree's YAML layout: a libostree: section (Version, Git, Features), then arbor's version", () => {
    expect(versionText()).toMatch(
      /^libostree:\n Version: '2022\.7'\n Git: arbor-[^\n]+\n Features:\n( {2}- [a-z0-9-]+\n)*arbor:\n Version: '\d+\.\d+\.\d+[^']*'\n$/,
    );
    // only what arbor implements: the peer suite probes these with grep (libarchive: what
    // test-export uses — export, --subpath, --prefix, commit --tree=tar= — works)
    expect(versionText()).toMatch(/- libarchive\n/);
    expect(versionText()).not.toMatch(/- (libcurl|libsoup|p2p|systemd|libmount)\n/);
  });
});
