/**
 * The contract between the CLI framework and the command files.
 *
 * Every subcommand lives in its own file (`commands/<verb>.ts`, `commands/admin/<verb>.ts`,
 * `commands/remote/<verb>.ts`, `commands/static-delta/<verb>.ts`…) and exports
 * `export const command: CommandSpec`. The framework parses argv against `options` (plus the
 * global options), prints help, resolves the repository path and maps thrown errors to exit codes;
 * the command only parses its own option values, makes one library call and formats the result.
 *
 * This file holds types only: importing it costs nothing at run time.
 */

import type { Context } from "./context.js";

/** One command-line option, in GLib GOption terms. */
export interface OptionSpec {
  /** Long name without dashes: `"branch"` for `--branch`. Also the key in {@link ParsedArgs.opts}. */
  long: string;
  /** Single-character short name without the dash: `"b"` for `-b`. */
  short?: string;
  /** Metavariable shown in help (`--branch=BRANCH`); when absent the option is a boolean flag. */
  arg?: string;
  /** The option may be given several times; values collect into a `string[]` in order. */
  repeat?: boolean;
  /** One-line description for `--help`. */
  help: string;
  /** Accepted but not listed in `--help`. */
  hidden?: boolean;
  /**
   * A boolean flag that accepts and ignores `--flag=VALUE`, as GOption does (the flag is set
   * whatever VALUE says): only where scripts written for ostree pass one (`pull-local --gpg-verify=true`).
   */
  ignoresValue?: boolean;
}

/** A (sub)command. `export const command: CommandSpec` from its file. */
export interface CommandSpec {
  /** The verb path as typed after the program name: `"commit"`, `"admin deploy"`, `"remote add"`. */
  name: string;
  /** One line, shown under the usage line of `--help` (ostree shows the same text in the command list). */
  summary: string;
  /** What follows the verb in the usage line, e.g. `"[OPTION…] REF [PATH]"`. */
  usage: string;
  /** The command's own options; an option here overrides a global one with the same long or short name. */
  options: OptionSpec[];
  /**
   * The command works on a repository: `--repo=PATH` is listed in help, and the repository path is
   * resolved before the argument count is checked, so `ostree log` outside a repo says
   * "Command requires a --repo argument" like ostree does. The command still opens the repo itself.
   */
  repo?: boolean;
  /** The command supports `--json` (read commands): adds the option and sets `ctx.json`. */
  json?: boolean;
  /** Fewer positional arguments than this is a usage error (help + `error: …` on stderr). */
  minArgs?: number;
  /** More positional arguments than this is a usage error. */
  maxArgs?: number;
  /** Message for a wrong argument count, e.g. `"REV must be specified"` (ostree words it per command). */
  argsError?: string;
  /**
   * Do the work. Return the exit code (`undefined` means 0). Throw `ArborError` for expected
   * failures: the framework prints `error: <message>` and exits 1 (usage errors: see `exit.ts`).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: lets `async run() { … }` return nothing (exit 0)
  run(ctx: Context, args: ParsedArgs): Promise<number | void>;
}

/** The value of one option after parsing. */
export type OptionValue = string | boolean | string[] | undefined;

/** The result of parsing argv against a command's options. */
export interface ParsedArgs {
  /** Positional arguments in order (command words removed, `--` removed). */
  positional: string[];
  /** Option values keyed by long name: `true` for flags, last value for string options, arrays for repeats. */
  opts: Record<string, OptionValue>;
  /** True if the option was given at least once. */
  has(long: string): boolean;
  /** The value of a string option (the last one given), or undefined. */
  str(long: string): string | undefined;
  /** Every value of a repeatable option in order; `[value]` for a plain string option given; else `[]`. */
  list(long: string): string[];
  /**
   * The value of an integer option, GOption style (decimal, or hex with `0x`).
   * @throws ArborError USAGE `Cannot parse integer value “x” for --depth`
   */
  int(long: string): number | undefined;
}

/** What a command file exports. */
export interface CommandModule {
  command: CommandSpec;
}
