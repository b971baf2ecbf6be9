/**
 * What a running command gets besides its arguments: where to print, the global options, and where
 * the repository and sysroot are.
 *
 * Repository resolution follows ostree (checked against ostree 2022.7):
 * 1. `--repo=PATH` (given anywhere on the command line; the last one wins);
 * 2. the current directory, if it looks like a repo (`objects/` is a directory, `config` a file);
 * 3. `$OSTREE_REPO`, if set and non-empty;
 * 4. `$OSTREE_SYSROOT/ostree/repo`, default `/ostree/repo`.
 * Note the current directory wins over `$OSTREE_REPO` (ostree_repo_new_default does it that way).
 * When the path came from 2–4 and it (or its `objects/`) does not exist, ostree prints the command's
 * help and "error: Command requires a --repo argument"; {@link Context.repoPath} does the same.
 * An explicit `--repo` is never checked here: opening it reports its own error.
 */

import { join, resolve } from "node:path";
import type { ArborError } from "../errors.js";
import type { ParsedArgs } from "./command.js";
import { usageError } from "./exit.js";
import { isTerminal, Output, type Sink, stderr, stdout, syncFs } from "./output.js";
import { Progress, type ProgressOptions } from "./progress.js";

/** The message ostree prints when no repository can be found. */
export const NO_REPO_MESSAGE = "Command requires a --repo argument";

/** Everything a command may use from the CLI. */
export interface Context {
  /** Program name shown in usage lines: `ostree` when run as ostree, else `arbor`. */
  readonly prog: string;
  /** The verb path being run: `"log"`, `"admin deploy"`. */
  readonly commandPath: string;
  /** `-v`/`--verbose` was given. */
  readonly verbose: boolean;
  /** `--json` was given (only for commands whose spec has `json: true`). */
  readonly json: boolean;
  /** Environment (tests inject one). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Working directory (absolute; tests inject one). */
  readonly cwd: string;
  /**
   * Buffered stdout. Print everything through this (never `console.log`); call `out.flush()`
   * before handing stdout to a child process, so the child's output lands after ours.
   */
  readonly out: Output;
  /** Stderr (unbuffered; flushes `out` first so output interleaves correctly). */
  readonly err: Output;
  /** True if stdout is a terminal. */
  readonly stdoutIsTTY: boolean;
  /** True if stderr is a terminal. */
  readonly stderrIsTTY: boolean;
  /** Aborted on the first Ctrl-C (a second one exits 130). Pass to long library calls. */
  readonly signal: AbortSignal;
  /** Stop listening for Ctrl-C (the command has returned; `run()` calls it). */
  dispose(): void;
  /**
   * The repository path, resolved as ostree does (see the file comment); absolute.
   * @throws ArborError USAGE "Command requires a --repo argument" (with help) when none applies.
   */
  repoPath(): string;
  /** The sysroot for `admin` commands: `--sysroot`, else `$OSTREE_SYSROOT`, else `/`; absolute. */
  sysrootPath(): string;
  /** A usage error to throw: prints the command's help, a blank line, then `error: <message>` (as ostree). */
  usageError(message: string): ArborError;
  /** Print a debug line to stderr when `--verbose` is on. */
  debug(message: string): void;
  /** Print `{"apiVersion":"arbor/v1","kind":kind,…data}` on one line to stdout. */
  printJson(kind: string, data: object): void;
  /** A progress line on stderr (live on a TTY; only the final summary otherwise). */
  progress(options?: Partial<ProgressOptions>): Progress;
  /** The command's `--help` text. */
  helpText(): string;
}

/** What {@link createContext} needs; everything but `args` has a default. */
export interface ContextInit {
  args: ParsedArgs;
  prog?: string;
  commandPath?: string;
  json?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Output objects, or sinks to wrap (tests). Default: the process stdout/stderr. */
  out?: Output | Sink;
  err?: Output | Sink;
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
  helpText?: () => string;
}

/** Where {@link resolveRepoPath} found the repository. */
export interface RepoLocation {
  path: string;
  source: "option" | "cwd" | "env" | "default";
}

function statKind(path: string): "dir" | "file" | "other" | "missing" | "error" {
  try {
    const st = syncFs.statSync(path, { throwIfNoEntry: false });
    if (st === undefined) return "missing";
    return st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
  } catch {
    return "error";
  }
}

/**
 * Resolve the repository path the way ostree does (see the file comment).
 * @throws ArborError USAGE {@link NO_REPO_MESSAGE} (shown with the command's help) when an implicit path is missing.
 * @example resolveRepoPath({ option: undefined, env: { OSTREE_REPO: "/srv/repo" }, cwd: "/tmp" })
 */
export function resolveRepoPath(o: {
  option: string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}): RepoLocation {
  if (o.option !== undefined) return { path: resolve(o.cwd, o.option), source: "option" };
  let loc: RepoLocation;
  if (statKind(join(o.cwd, "objects")) === "dir" && statKind(join(o.cwd, "config")) === "file") {
    return { path: o.cwd, source: "cwd" };
  }
  const envRepo = o.env.OSTREE_REPO;
  if (envRepo) loc = { path: resolve(o.cwd, envRepo), source: "env" };
  else loc = { path: resolve(o.cwd, o.env.OSTREE_SYSROOT || "/", "ostree/repo"), source: "default" };
  // ostree only turns "not found" into the usage message; other failures (not a directory, no
  // permission) are left for opening the repository to report.
  if (statKind(loc.path) === "missing" || statKind(join(loc.path, "objects")) === "missing") {
    throw usageError(NO_REPO_MESSAGE);
  }
  return loc;
}

class CliContext implements Context {
  readonly prog: string;
  readonly commandPath: string;
  readonly verbose: boolean;
  readonly json: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly out: Output;
  readonly err: Output;
  private readonly args: ParsedArgs;
  private readonly init: ContextInit;
  private readonly help: () => string;
  private repo: string | undefined;
  private controller: AbortController | undefined;
  private onInt: (() => void) | undefined;

  constructor(init: ContextInit) {
    this.args = init.args;
    this.prog = init.prog ?? "arbor";
    this.commandPath = init.commandPath ?? "";
    this.verbose = init.args.has("verbose");
    this.json = init.json ?? false;
    this.env = init.env ?? process.env;
    this.cwd = resolve(init.cwd ?? process.cwd());
    this.out = init.out instanceof Output ? init.out : init.out ? new Output(init.out) : stdout();
    this.err =
      init.err instanceof Output
        ? init.err
        : init.err
          ? new Output(init.err, { unbuffered: true, after: this.out })
          : stderr();
    this.init = init;
    this.help = init.helpText ?? (() => "");
  }

  // Asked lazily: checking a terminal loads node:tty (see isTerminal). Only the process's own
  // stdout/stderr (whether passed in or defaulted) can be a terminal.
  get stdoutIsTTY(): boolean {
    return this.init.stdoutIsTTY ?? (this.out === stdout() && isTerminal(1));
  }

  get stderrIsTTY(): boolean {
    return this.init.stderrIsTTY ?? (this.err === stderr() && isTerminal(2));
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      this.onInt = (): void => {
        if (controller.signal.aborted) process.exit(130);
        controller.abort(new Error("Interrupted"));
      };
      process.on("SIGINT", this.onInt);
    }
    return this.controller.signal;
  }

  dispose(): void {
    if (this.onInt) process.removeListener("SIGINT", this.onInt);
    this.onInt = undefined;
  }

  repoPath(): string {
    this.repo ??= resolveRepoPath({ option: this.args.str("repo"), env: this.env, cwd: this.cwd }).path;
    return this.repo;
  }

  sysrootPath(): string {
    return resolve(this.cwd, this.args.str("sysroot") ?? (this.env.OSTREE_SYSROOT || "/"));
  }

  usageError(message: string): ArborError {
    return usageError(message, "help-gap");
  }

  debug(message: string): void {
    if (this.verbose) this.err.write(`${this.prog}-debug: ${message}\n`);
  }

  printJson(kind: string, data: object): void {
    this.out.json(kind, data);
  }

  progress(options: Partial<ProgressOptions> = {}): Progress {
    return new Progress({ tty: this.stderrIsTTY, write: (s) => this.err.write(s), ...options });
  }

  helpText(): string {
    return this.help();
  }
}

/** Build a {@link Context} (the CLI does this; command tests can too, with string sinks). */
export function createContext(init: ContextInit): Context {
  return new CliContext(init);
}
