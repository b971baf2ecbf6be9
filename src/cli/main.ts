/**
 * The `arbor` command line: a drop-in for `ostree` (same verbs, options, output and exit codes)
 * plus arbor's own verbs.
 *
 * {@link COMMANDS} maps every verb path to a lazily imported command file, so start-up loads only
 * this file, the parser and the one command being run (`arbor rev-parse` must start within ~30 ms
 * of a bare `node`). Nothing here may import the library at top level.
 *
 * Dispatch mirrors ostree: the first words that are not options select the command (options may come
 * before them: `ostree --repo=R commit …`); everything else is parsed by that command's options
 * plus the global ones (`--repo`, `--sysroot`, `-v/--verbose`, `--version`, `-h/--help`, and
 * `--json` where the command offers it). A group without a subcommand prints its help to stderr
 * with `error: No "admin" subcommand specified`, exit 1; `--help` prints help to stdout, exit 0.
 */

import { basename } from "node:path";
import { isArborError } from "../errors.js";
import { LIBOSTREE_COMPAT_VERSION } from "../version.js";
import { formatHelp, parseArgs } from "./args.js";
import type { CommandModule, CommandSpec, OptionSpec, ParsedArgs } from "./command.js";
import { createContext } from "./context.js";
import { EXIT_USAGE_NATIVE, EXIT_USAGE_OSTREE, reportError, usageError } from "./exit.js";
import { Output, type Sink, stderr, stdout, syncFs } from "./output.js";

/** Loads a command file. */
export type Loader = () => Promise<CommandModule>;

/** One row of the command table. */
export interface TableEntry {
  /** Verb path: `"log"`, `"admin deploy"`, `"admin instutil set-kargs"`. A path with children is a group. */
  path: string;
  /** Shown in the parent's command list (ostree's wording for ostree verbs). */
  summary: string;
  /**
   * The command module, or — while it is not written yet — the source file it will live in.
   * To add a command: write the file, then replace the string with `() => import("./commands/x.js")`.
   * On a group: the command run when a group-level option from `options` is given
   * (`ostree admin --print-current-dir`).
   */
  load?: Loader | string;
  /** Groups: what follows the verb in the usage line (default `[OPTION…] COMMAND`). */
  usage?: string;
  /** Groups: extra group-level options (which select `load`). */
  options?: OptionSpec[];
  /** Not listed in help (still runs). */
  hidden?: boolean;
  /** An arbor-only verb: usage errors exit 2 instead of ostree's 1. */
  native?: boolean;
}

const PCD: OptionSpec = {
  long: "print-current-dir",
  help: "Print the current deployment directory",
  hidden: true,
};

// Listing order follows `ostree --help` (2022.7). Summaries of ostree verbs are ostree's own text.
/** Every verb arbor knows. */
// biome-ignore format: one row per verb keeps the table scannable and each addition a one-line diff
export const COMMANDS: readonly TableEntry[] = [
  { path: "admin", summary: "Commands for managing a host system booted with ostree", usage: "[OPTION…] --print-current-dir|COMMAND", options: [PCD], load: () => import("./commands/admin/print-current-dir.js") },
  { path: "cat", summary: "Concatenate contents of files", load: () => import("./commands/cat.js") },
  { path: "checkout", summary: "Check out a commit into a filesystem tree", load: () => import("./commands/checkout.js") },
  { path: "checksum", summary: "Checksum a file or directory", load: () => import("./commands/checksum.js") },
  { path: "commit", summary: "Commit a new revision", load: () => import("./commands/commit.js") },
  { path: "config", summary: "Change repo configuration settings", load: () => import("./commands/config.js") },
  { path: "diff", summary: "Compare directory TARGETDIR against revision REV", load: () => import("./commands/diff.js") },
  { path: "export", summary: "Stream COMMIT to stdout in tar format", load: () => import("./commands/export.js") },
  { path: "find-remotes", summary: "Find remotes to serve the given refs", load: () => import("./commands/find-remotes.js") },
  { path: "create-usb", summary: "Copy the refs to a USB stick", load: () => import("./commands/create-usb.js") },
  { path: "fsck", summary: "Check the repository for consistency", load: () => import("./commands/fsck.js") },
  { path: "gpg-sign", summary: "Sign a commit", load: () => import("./commands/gpg-sign.js") },
  { path: "init", summary: "Initialize a new empty repository", load: () => import("./commands/init.js") },
  { path: "log", summary: "Show log starting at commit or ref", load: () => import("./commands/log.js") },
  { path: "ls", summary: "List file paths", load: () => import("./commands/ls.js") },
  { path: "prune", summary: "Search for unreachable objects", load: () => import("./commands/prune.js") },
  { path: "pull-local", summary: "Copy data from SRC_REPO", load: () => import("./commands/pull-local.js") },
  { path: "pull", summary: "Download data from remote repository", load: () => import("./commands/pull.js") },
  { path: "refs", summary: "List refs", load: () => import("./commands/refs.js") },
  { path: "remote", summary: "Remote commands that may involve internet access" },
  { path: "reset", summary: "Reset a REF to a previous COMMIT", load: () => import("./commands/reset.js") },
  { path: "rev-parse", summary: "Output the target of a rev", load: () => import("./commands/rev-parse.js") },
  { path: "sign", summary: "Sign a commit", load: () => import("./commands/sign.js") },
  { path: "show", summary: "Output a metadata object", load: () => import("./commands/show.js") },
  { path: "static-delta", summary: "Static delta related commands" },
  { path: "summary", summary: "Manage summary metadata", load: () => import("./commands/summary.js") },
  { path: "trivial-httpd", summary: "Simple webserver", load: () => import("./commands/trivial-httpd.js"), hidden: true },
  { path: "compose", summary: "Build a reproducible commit from a manifest", load: () => import("./commands/compose.js"), native: true },

  { path: "admin cleanup", summary: "Delete untagged deployments and repository objects", load: () => import("./commands/admin/cleanup.js") },
  { path: "admin config-diff", summary: "Diff current /etc configuration versus default", load: () => import("./commands/admin/config-diff.js") },
  { path: "admin deploy", summary: "Checkout revision REFSPEC as the new default deployment", load: () => import("./commands/admin/deploy.js") },
  { path: "admin init-fs", summary: "Initialize a root filesystem", load: () => import("./commands/admin/init-fs.js") },
  { path: "admin os-init", summary: "Initialize empty state for given operating system", load: () => import("./commands/admin/os-init.js") },
  { path: "admin stateroot-init", summary: "Initialize empty state for given stateroot", load: () => import("./commands/admin/stateroot-init.js") },
  { path: "admin pin", summary: 'Change the "pinning" state of a deployment', load: () => import("./commands/admin/pin.js") },
  { path: "admin set-default", summary: "Set a deployment as the default one", load: () => import("./commands/admin/set-default.js") },
  { path: "admin rollback", summary: "Make the previous deployment the default", load: () => import("./commands/admin/rollback.js"), native: true },
  { path: "admin set-origin", summary: "Set Origin and create a new origin file", load: () => import("./commands/admin/set-origin.js") },
  { path: "admin status", summary: "List deployments", load: () => import("./commands/admin/status.js") },
  { path: "admin switch", summary: "Construct new tree from REFSPEC and deploy it", load: () => import("./commands/admin/switch.js") },
  { path: "admin undeploy", summary: "Delete deployment INDEX", load: () => import("./commands/admin/undeploy.js") },
  { path: "admin unlock", summary: "Make the current deployment mutable (as a hotfix or development)", load: () => import("./commands/admin/unlock.js") },
  { path: "admin upgrade", summary: "Construct new tree from current origin and deploy it, if it changed", load: () => import("./commands/admin/upgrade.js") },
  { path: "admin layer", summary: "Declared layers of a deployment (add, remove, list)", native: true },
  { path: "admin drift", summary: "Report state that differs from what was declared", load: () => import("./commands/admin/drift.js"), native: true },
  { path: "admin verify", summary: "Re-derive the deployment from its declared inputs and compare", load: () => import("./commands/admin/verify.js"), native: true },
  { path: "admin kargs", summary: "Change kernel arguments" },
  { path: "admin instutil", summary: "Deprecated commands intended for installer programs", hidden: true },
  { path: "admin boot-complete", summary: "Finalize a successful boot", load: () => import("./commands/admin/boot-complete.js"), hidden: true },
  { path: "admin finalize-staged", summary: "Internal command to run at shutdown time", load: () => import("./commands/admin/finalize-staged.js"), hidden: true },

  { path: "admin layer add", summary: "Declare a layer (folder, tarball or ref) and deploy base + layers", load: () => import("./commands/admin/layer/add.js"), native: true },
  { path: "admin layer remove", summary: "Remove a declared layer and deploy base + the remaining layers", load: () => import("./commands/admin/layer/remove.js"), native: true },
  { path: "admin layer list", summary: "List the declared layers of a deployment", load: () => import("./commands/admin/layer/list.js"), native: true },

  { path: "admin kargs edit-in-place", summary: "Set new kernel command line arguments in place (applies to all deployments by default)", load: () => import("./commands/admin/kargs/edit-in-place.js") },

  { path: "admin instutil selinux-ensure-labeled", summary: "Relabel all or part of a deployment", load: "commands/admin/instutil/selinux-ensure-labeled.ts" },
  { path: "admin instutil set-kargs", summary: "Set new kernel command line arguments(Not stable)", load: () => import("./commands/admin/instutil/set-kargs.js") },
  { path: "admin instutil grub2-generate", summary: "Generate GRUB2 configuration from given BLS entries", load: () => import("./commands/admin/instutil/grub2-generate.js") },

  { path: "remote add", summary: "Add a remote repository", load: () => import("./commands/remote/add.js") },
  { path: "remote delete", summary: "Delete a remote repository", load: () => import("./commands/remote/delete.js") },
  { path: "remote show-url", summary: "Show remote repository URL", load: () => import("./commands/remote/show-url.js") },
  { path: "remote list", summary: "List remote repository names", load: () => import("./commands/remote/list.js") },
  { path: "remote gpg-import", summary: "Import GPG keys", load: () => import("./commands/remote/gpg-import.js") },
  { path: "remote gpg-list-keys", summary: "Show remote GPG keys", load: () => import("./commands/remote/gpg-list-keys.js") },
  { path: "remote add-cookie", summary: "Add a cookie to remote", load: () => import("./commands/remote/add-cookie.js") },
  { path: "remote delete-cookie", summary: "Remove one cookie from remote", load: () => import("./commands/remote/delete-cookie.js") },
  { path: "remote list-cookies", summary: "Show remote repository cookies", load: () => import("./commands/remote/list-cookies.js") },
  { path: "remote refs", summary: "List remote refs", load: () => import("./commands/remote/refs.js") },
  { path: "remote summary", summary: "Show remote summary", load: () => import("./commands/remote/summary.js") },

  { path: "static-delta list", summary: "List static delta files", load: () => import("./commands/static-delta/list.js") },
  { path: "static-delta show", summary: "Dump information on a delta", load: () => import("./commands/static-delta/show.js") },
  { path: "static-delta delete", summary: "Remove a delta", load: () => import("./commands/static-delta/delete.js") },
  { path: "static-delta generate", summary: "Generate static delta files", load: () => import("./commands/static-delta/generate.js") },
  { path: "static-delta apply-offline", summary: "Apply static delta file", load: () => import("./commands/static-delta/apply-offline.js") },
  { path: "static-delta verify", summary: "Verify static delta signatures", load: () => import("./commands/static-delta/verify.js") },
  { path: "static-delta indexes", summary: "List static delta indexes", load: () => import("./commands/static-delta/indexes.js") },
  { path: "static-delta reindex", summary: "Regenerate static delta indexes", load: () => import("./commands/static-delta/reindex.js") },
];

/**
 * Features printed by `--version`. OSTree's test suite greps this list to decide what to test
 * (`- sign-ed25519`, `- gpgme`, `- libarchive`, `- systemd` + `- libmount`…): list a feature only
 * once arbor implements it, or the suite runs tests that cannot pass instead of skipping them.
 */
export const FEATURES: readonly string[] = ["gpgme", "sign-ed25519", "libarchive"];

// ---------------------------------------------------------------------------------------------
// Global options (ostree wording).

const OPT_REPO: OptionSpec = {
  long: "repo",
  arg: "PATH",
  help: "Path to OSTree repository (defaults to current directory or /sysroot/ostree/repo)",
};
const OPT_SYSROOT: OptionSpec = { long: "sysroot", arg: "PATH", help: "Create a new OSTree sysroot at PATH" };
const OPT_VERBOSE: OptionSpec = {
  long: "verbose",
  short: "v",
  help: "Print debug information during command processing",
};
const OPT_VERSION: OptionSpec = { long: "version", help: "Print version information and exit" };
const OPT_JSON: OptionSpec = { long: "json", help: "Print machine-readable JSON" };

const hide = (o: OptionSpec): OptionSpec => ({ ...o, hidden: true });

/**
 * The full option list of a command, in help order: `--repo`/`--sysroot` first (when they apply),
 * the command's own, then `--json`, `-v`, `--version`. A command option overrides a global one with
 * the same long name; a global loses a short name a command option uses (`summary -v` is --view).
 */
export function commandOptions(
  spec: Pick<CommandSpec, "options" | "repo" | "json">,
  admin: boolean,
): OptionSpec[] {
  const own = spec.options;
  const longs = new Set(own.map((o) => o.long));
  const shorts = new Set(own.flatMap((o) => (o.short === undefined ? [] : [o.short])));
  const global = (o: OptionSpec): OptionSpec[] => {
    if (longs.has(o.long)) return [];
    if (o.short !== undefined && shorts.has(o.short)) {
      const { short: _dropped, ...rest } = o;
      return [rest];
    }
    return [o];
  };
  return [
    ...global(spec.repo ? OPT_REPO : hide(OPT_REPO)),
    ...global(admin ? OPT_SYSROOT : hide(OPT_SYSROOT)),
    ...own,
    ...(spec.json ? global(OPT_JSON) : []),
    ...global(OPT_VERBOSE),
    ...global(OPT_VERSION),
  ];
}

const isAdmin = (path: string): boolean => path === "admin" || path.startsWith("admin ");

function groupOptions(node: Node): OptionSpec[] {
  return [
    isAdmin(node.path) ? OPT_SYSROOT : hide(OPT_SYSROOT),
    OPT_VERBOSE,
    OPT_VERSION,
    hide(OPT_REPO),
    ...(node.entry?.options ?? []),
  ];
}

// ---------------------------------------------------------------------------------------------
// The command tree.

interface Node {
  path: string;
  entry: TableEntry | undefined;
  children: Map<string, Node>;
}

function buildTree(table: readonly TableEntry[]): Node {
  const root: Node = { path: "", entry: undefined, children: new Map() };
  for (const entry of table) {
    let node = root;
    for (const word of entry.path.split(" ")) {
      let child = node.children.get(word);
      if (child === undefined) {
        child = { path: node.path ? `${node.path} ${word}` : word, entry: undefined, children: new Map() };
        node.children.set(word, child);
      }
      node = child;
    }
    node.entry = entry;
  }
  return root;
}

/** Options that take a value as the next argument even before the verb (`--repo R commit`). */
const GLOBAL_WITH_VALUE = new Set(["--repo", "--sysroot"]);

/** Split argv into the command node, an unknown word (if any) and the remaining arguments. */
function locate(root: Node, argv: readonly string[]): { node: Node; unknown?: string; rest: string[] } {
  let node = root;
  const rest: string[] = [];
  let unknown: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (node.children.size === 0 || unknown !== undefined) {
      rest.push(a);
    } else if (a.length > 1 && a.startsWith("-")) {
      rest.push(a);
      if (GLOBAL_WITH_VALUE.has(a) && i + 1 < argv.length) rest.push(argv[++i]!);
    } else {
      const child = node.children.get(a);
      if (child !== undefined) node = child;
      else unknown = a;
    }
  }
  return unknown === undefined ? { node, rest } : { node, unknown, rest };
}

// ---------------------------------------------------------------------------------------------
// Help and version.

function groupHelp(prog: string, node: Node): string {
  const visible = [...node.children.values()].filter((c) => !c.entry?.hidden);
  return formatHelp({
    usage: `${prog}${node.path ? ` ${node.path}` : ""} ${node.entry?.usage ?? "[OPTION…] COMMAND"}`,
    summary: node.entry?.summary,
    commandsTitle: node.path ? `Builtin "${node.path}" Commands:` : "Builtin Commands:",
    commands: visible.map((c) => [
      c.path.slice(node.path ? node.path.length + 1 : 0),
      c.entry?.summary ?? "",
    ]),
    options: groupOptions(node),
  });
}

function leafHelp(prog: string, path: string, spec: CommandSpec): string {
  return formatHelp({
    usage: `${prog} ${path} ${spec.usage}`,
    summary: spec.summary,
    options: commandOptions(spec, isAdmin(path)),
  });
}

/**
 * The `--version` text: ostree's YAML layout (`libostree:` with `Version`, `Git`, `Features`),
 * then arbor's own version. Returned whole so the caller writes it in one write(2): a reader that
 * exits early (`grep -q`) must not race a series of small writes into SIGPIPE.
 */
export function versionText(): string {
  let version = "unknown";
  try {
    const pkg = JSON.parse(syncFs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    version = pkg.version ?? version;
  } catch {
    // A broken install still answers --version.
  }
  return (
    `libostree:\n Version: '${LIBOSTREE_COMPAT_VERSION}'\n Git: arbor-${version}\n Features:\n` +
    `${FEATURES.map((f) => `  - ${f}\n`).join("")}arbor:\n Version: '${version}'\n`
  );
}

/**
 * The name shown in usage lines. OSTree's test suite runs arbor through a shell shim named `ostree`
 * and checks that `ostree admin deploy --help` mentions "ostree admin deploy", so we answer to the
 * name we were invoked by: `$ARBOR_PROG`, else our own file name if it is `ostree` (a symlink),
 * else `ostree` when the shell says it ran a program called ostree (`$_`, which shells set and
 * exec-ing shims pass through), else `arbor`.
 */
export function programName(
  env: Readonly<Record<string, string | undefined>>,
  self = process.argv[1],
): string {
  if (env.ARBOR_PROG) return env.ARBOR_PROG;
  if (self && basename(self) === "ostree") return "ostree";
  if (env._ && basename(env._) === "ostree") return "ostree";
  return "arbor";
}

// ---------------------------------------------------------------------------------------------
// run()

/** Overrides for tests and embedding. */
export interface RunOptions {
  /** The command table (default {@link COMMANDS}). */
  table?: readonly TableEntry[];
  stdout?: Sink;
  stderr?: Sink;
  env?: Readonly<Record<string, string | undefined>>;
  cwd?: string;
  /** Program name in usage lines (default: {@link programName}). */
  prog?: string;
  stdoutIsTTY?: boolean;
  stderrIsTTY?: boolean;
}

interface State {
  help?: () => string;
  usageExit: number;
}

/**
 * Run the CLI with `argv` (without node and script) and return the exit code.
 * Never throws; everything printed is flushed before it returns.
 */
export async function run(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const out = options.stdout ? new Output(options.stdout) : stdout();
  const err = options.stderr ? new Output(options.stderr, { unbuffered: true, after: out }) : stderr();
  const state: State = { usageExit: EXIT_USAGE_OSTREE };
  let code: number;
  try {
    code = await dispatch(argv, options, env, out, err, state);
  } catch (e) {
    code = reportError(e, {
      err,
      usageText: isArborError(e, "USAGE") && e.data?.showUsage !== undefined ? state.help?.() : undefined,
      usageExitCode: state.usageExit,
      debug: env.ARBOR_DEBUG === "1",
    });
  }
  try {
    out.flush();
  } catch (e) {
    code = reportError(e, { err, debug: env.ARBOR_DEBUG === "1" });
  }
  return code;
}

async function dispatch(
  argv: readonly string[],
  options: RunOptions,
  env: Readonly<Record<string, string | undefined>>,
  out: Output,
  err: Output,
  state: State,
): Promise<number> {
  const prog = options.prog ?? programName(env);
  const root = buildTree(options.table ?? COMMANDS);
  const { node, unknown, rest } = locate(root, argv);

  if (node.children.size > 0) {
    // A group (or the top level): help, version, its default command, or a usage error.
    const help = (): string => groupHelp(prog, node);
    state.help = help;
    if (unknown !== undefined) {
      if (parseArgs(rest, groupOptions(node), { lenient: true }).help) {
        out.write(help());
        return 0;
      }
      throw usageError(
        node.path ? `Unknown "${node.path}" subcommand '${unknown}'` : `Unknown command '${unknown}'`,
      );
    }
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs(rest, groupOptions(node));
    } catch (e) {
      throw isArborError(e, "USAGE") ? usageError(e.message) : e;
    }
    if (parsed.help) {
      out.write(help());
      return 0;
    }
    if (parsed.args.has("version")) {
      out.write(versionText());
      return 0;
    }
    const own = node.entry?.options ?? [];
    if (node.entry?.load !== undefined && own.some((o) => parsed.args.has(o.long))) {
      return runLeaf(node.path, node.entry, rest, prog, options, env, out, err, state);
    }
    throw usageError(node.path ? `No "${node.path}" subcommand specified` : "No command specified");
  }
  return runLeaf(node.path, node.entry!, rest, prog, options, env, out, err, state);
}

async function runLeaf(
  path: string,
  entry: TableEntry,
  rest: string[],
  prog: string,
  options: RunOptions,
  env: Readonly<Record<string, string | undefined>>,
  out: Output,
  err: Output,
  state: State,
): Promise<number> {
  if (entry.native) state.usageExit = EXIT_USAGE_NATIVE;
  if (typeof entry.load !== "function") {
    // Not written yet: answer --help (OSTree's test-help walks every listed verb), refuse the rest.
    const stub: CommandSpec = {
      name: path,
      summary: entry.summary,
      usage: "[OPTION…]",
      options: [],
      run: async () => 1,
    };
    if (parseArgs(rest, commandOptions(stub, isAdmin(path)), { lenient: true }).help) {
      out.write(leafHelp(prog, path, stub));
      return 0;
    }
    err.write(`error: "${path}" is not implemented yet\n`);
    return 1;
  }
  const { command: spec } = await entry.load();
  const help = (): string => leafHelp(prog, path, spec);
  state.help = help;
  const parsed = parseArgs(rest, commandOptions(spec, isAdmin(path)));
  if (parsed.help) {
    out.write(help());
    return 0;
  }
  const args: ParsedArgs = parsed.args;
  if (args.has("version")) {
    out.write(versionText());
    return 0;
  }
  const ctx = createContext({
    args,
    prog,
    commandPath: path,
    json: spec.json === true && args.has("json"),
    env,
    cwd: options.cwd,
    out,
    err,
    stdoutIsTTY: options.stdoutIsTTY ?? (options.stdout ? false : undefined),
    stderrIsTTY: options.stderrIsTTY ?? (options.stderr ? false : undefined),
    helpText: help,
  });
  // ostree resolves the repository while parsing options, so a missing repo is reported before a
  // missing argument (`ostree log` outside a repo: "Command requires a --repo argument").
  // (commands with their own --sysroot, such as `remote add`, find the repository through it)
  const viaSysroot = args.str("sysroot") !== undefined && spec.options?.some((o) => o.long === "sysroot");
  if (spec.repo && !viaSysroot) ctx.repoPath();
  const n = args.positional.length;
  if (spec.minArgs !== undefined && n < spec.minArgs) {
    throw usageError(spec.argsError ?? `Too few arguments (expected at least ${spec.minArgs})`, "help-gap");
  }
  if (spec.maxArgs !== undefined && n > spec.maxArgs) {
    throw usageError(spec.argsError ?? `Too many arguments (expected at most ${spec.maxArgs})`, "help-gap");
  }
  try {
    const result = await spec.run(ctx, args);
    return typeof result === "number" ? result : 0;
  } finally {
    ctx.dispose(); // in-process callers (tests, embedders) run many commands in one process
  }
}
