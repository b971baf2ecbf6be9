/**
 * Command-line parsing and help text, compatible with GLib's GOption (what `ostree` uses), so that
 * scripts written for `ostree` parse the same way:
 *
 * - `--long=VALUE` and `--long VALUE` (the next argument is taken as the value even if it starts
 *   with `-`, as GOption does: `--repo -A` means repo "-A");
 * - `-s VALUE`, grouped boolean shorts `-Rd`, and (an extension over GOption) `-sVALUE`;
 * - options may follow positionals (GOption permutes); `--` ends options and is removed;
 * - repeatable options collect into arrays; a repeated plain option keeps the last value;
 * - `-h`/`--help` stops parsing at once (an error *before* it still wins), like GOption.
 *
 * Deliberate difference: GOption silently accepts `--flag=anything` for a boolean flag; we reject it
 * ("Option --flag does not take a value") because a value there is always a mistake.
 *
 * Error messages are GOption's: `Unknown option --bogus`, `Unknown option -Ax` (the whole token),
 * `Missing argument for --depth`, `Cannot parse integer value “x” for --depth`.
 */

import { ArborError } from "../errors.js";
import type { OptionSpec, OptionValue, ParsedArgs } from "./command.js";

/** What {@link parseArgs} found. */
export interface ParseResult {
  args: ParsedArgs;
  /** `-h`/`--help` was given: print help and exit 0 (parsing stopped there). */
  help: boolean;
}

/** Options for {@link parseArgs}. */
export interface ParseConfig {
  /** Skip unknown options instead of failing (used to spot `--help` after an unknown verb). */
  lenient?: boolean;
}

function usage(message: string): ArborError {
  return new ArborError("USAGE", message);
}

/**
 * Parse `argv` (command words already removed) against `options`. When two options share a long or
 * short name the first in the list wins, so put the command's own options before the global ones.
 * `-h`/`--help` are always recognised unless an option claims them.
 * @throws ArborError USAGE for unknown options, missing values, values given to flags.
 * @example parseArgs(["-b", "main", "dir"], [{ long: "branch", short: "b", arg: "BRANCH", help: "" }])
 */
export function parseArgs(argv: readonly string[], options: readonly OptionSpec[], config: ParseConfig = {}) {
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const o of options) {
    if (!byLong.has(o.long)) byLong.set(o.long, o);
    if (o.short !== undefined && !byShort.has(o.short)) byShort.set(o.short, o);
  }
  const opts: Record<string, OptionValue> = {};
  const positional: string[] = [];
  const set = (o: OptionSpec, value: string | undefined): void => {
    if (o.arg === undefined) opts[o.long] = true;
    else if (o.repeat) {
      const prev = opts[o.long];
      if (Array.isArray(prev)) prev.push(value as string);
      else opts[o.long] = [value as string];
    } else opts[o.long] = value;
  };
  const done = (help: boolean): ParseResult => ({ args: makeParsedArgs(positional, opts), help });

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      for (let j = i + 1; j < argv.length; j++) positional.push(argv[j]!);
      break;
    }
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const o = byLong.get(name);
      if (o === undefined) {
        if (name === "help" && eq < 0) return done(true);
        if (config.lenient) continue;
        throw usage(`Unknown option ${a}`);
      }
      if (o.arg === undefined) {
        if (eq >= 0 && !o.ignoresValue) {
          if (config.lenient) continue;
          throw usage(`Option --${name} does not take a value`);
        }
        set(o, undefined);
      } else if (eq >= 0) {
        set(o, a.slice(eq + 1));
      } else if (i + 1 < argv.length) {
        set(o, argv[++i]);
      } else {
        if (config.lenient) continue;
        throw usage(`Missing argument for --${name}`);
      }
      continue;
    }
    if (a.length > 1 && a.startsWith("-")) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j]!;
        const o = byShort.get(c);
        if (o === undefined) {
          if (c === "h") return done(true);
          if (config.lenient) break;
          throw usage(`Unknown option ${a}`);
        }
        if (o.arg === undefined) {
          set(o, undefined);
          continue;
        }
        if (j + 1 < a.length) set(o, a.slice(j + 1));
        else if (i + 1 < argv.length) set(o, argv[++i]);
        else if (!config.lenient) throw usage(`Missing argument for -${c}`);
        break;
      }
      continue;
    }
    positional.push(a);
  }
  return done(false);
}

/** Parse an integer the way GOption does (`strtol(…, 0)`, 32-bit). Exported for commands and tests. */
export function parseIntOption(text: string, optionName: string): number {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(text);
  if (!m) throw usage(`Cannot parse integer value “${text}” for ${optionName}`);
  const digits = m[2]!;
  let n: number;
  if (/^0[xX]/.test(digits)) n = Number.parseInt(digits.slice(2), 16);
  else if (digits.length > 1 && digits.startsWith("0")) n = Number.parseInt(digits.slice(1), 8);
  else n = Number.parseInt(digits, 10);
  if (m[1] === "-") n = -n;
  if (n > 2147483647 || n < -2147483648) {
    throw usage(`Integer value “${text}” for ${optionName} out of range`);
  }
  return n;
}

/** Wrap parsed values in the {@link ParsedArgs} accessor interface. */
export function makeParsedArgs(positional: string[], opts: Record<string, OptionValue>): ParsedArgs {
  return {
    positional,
    opts,
    has: (long) => opts[long] !== undefined && opts[long] !== false,
    str(long) {
      const v = opts[long];
      if (typeof v === "string") return v;
      if (Array.isArray(v)) return v[v.length - 1];
      return undefined;
    },
    list(long) {
      const v = opts[long];
      if (Array.isArray(v)) return v;
      if (typeof v === "string") return [v];
      return [];
    },
    int(long) {
      const v = this.str(long);
      return v === undefined ? undefined : parseIntOption(v, `--${long}`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Help text, laid out like GOption's: options column = longest option + 5 spaces (at least), the
// command list aligned with it (or wider when a command name is long), a blank line after each block.

/** Everything {@link formatHelp} lays out. */
export interface HelpText {
  /** The line under "Usage:", e.g. `ostree refs [OPTION…] [PREFIX]`. */
  usage: string;
  /** One-line description (omitted for the top level, like ostree). */
  summary?: string;
  /** Heading of the command list, e.g. `Builtin "admin" Commands:`; no list when absent. */
  commandsTitle?: string;
  /** `[name, summary]` rows of the command list. */
  commands?: ReadonlyArray<readonly [string, string]>;
  /** The "Application Options" (hidden ones are skipped). */
  options: readonly OptionSpec[];
}

/** How an option is shown in the left column: `-b, --branch=BRANCH`. */
export function optionLabel(o: OptionSpec): string {
  const long = `--${o.long}${o.arg ? `=${o.arg}` : ""}`;
  return o.short !== undefined ? `-${o.short}, ${long}` : long;
}

/** Render help text; ends with a blank line, as GOption's does. */
export function formatHelp(h: HelpText): string {
  const shown = h.options.filter((o) => !o.hidden);
  const helpRow = ["-h, --help", "Show help options"] as const;
  const optionRows = shown.map((o) => [optionLabel(o), o.help] as const);
  const widest = Math.max(helpRow[0].length, ...optionRows.map((r) => r[0].length));
  const col = 2 + widest + 5;
  const row = (left: string, right: string, at: number): string =>
    `  ${left}${" ".repeat(Math.max(1, at - 2 - left.length))}${right}\n`;

  let s = `Usage:\n  ${h.usage}\n\n`;
  if (h.summary) s += `${h.summary}\n\n`;
  if (h.commandsTitle !== undefined) {
    const cmds = h.commands ?? [];
    const cmdCol = Math.max(col, 2 + Math.max(0, ...cmds.map((c) => c[0].length)) + 2);
    s += `${h.commandsTitle}\n`;
    for (const [name, summary] of cmds) s += row(name, summary, cmdCol);
    s += "\n";
  }
  s += `Help Options:\n${row(helpRow[0], helpRow[1], col)}\n`;
  s += "Application Options:\n";
  for (const [left, right] of optionRows) s += row(left, right, col);
  s += "\n";
  return s;
}
