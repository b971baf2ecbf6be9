import { describe, expect, it } from "vitest";
import { formatHelp, optionLabel, parseArgs, parseIntOption } from "../../../src/cli/args.js";
import type { OptionSpec } from "../../../src/cli/command.js";
import { isArborError } from "../../../src/errors.js";

const OPTS: OptionSpec[] = [
  { long: "branch", short: "b", arg: "BRANCH", help: "Branch" },
  { long: "subject", short: "s", arg: "SUBJECT", help: "One line subject" },
  { long: "recursive", short: "R", help: "Recurse" },
  { long: "dironly", short: "d", help: "Only directories" },
  { long: "tree", arg: "dir=PATH", repeat: true, help: "Overlay a tree" },
  { long: "depth", arg: "DEPTH", help: "Depth" },
  { long: "repo", arg: "PATH", help: "Repo" },
  { long: "secret", help: "Hidden flag", hidden: true },
];

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isArborError(e, "USAGE")) return e.message;
    throw e;
  }
  throw new Error("expected a usage error");
}

describe("parseArgs()", () => {
  it("accepts --long=VALUE and --long VALUE", () => {
    const { args } = parseArgs(["--branch=main", "--subject", "hello world"], OPTS);
    expect(args.str("branch")).toBe("main");
    expect(args.str("subject")).toBe("hello world");
  });

  it("takes the next argument as the value even when it starts with a dash (GOption)", () => {
    expect(parseArgs(["--repo", "-A"], OPTS).args.str("repo")).toBe("-A");
    expect(parseArgs(["-b", "--x"], OPTS).args.str("branch")).toBe("--x");
  });

  it("accepts -s VALUE and -sVALUE", () => {
    expect(parseArgs(["-b", "main"], OPTS).args.str("branch")).toBe("main");
    expect(parseArgs(["-bX"], OPTS).args.str("branch")).toBe("X");
  });

  it("accepts grouped boolean shorts, with a value-taking option last in the group", () => {
    const { args } = parseArgs(["-Rd"], OPTS);
    expect(args.has("recursive")).toBe(true);
    expect(args.has("dironly")).toBe(true);
    const g = parseArgs(["-Rb", "main"], OPTS).args;
    expect(g.has("recursive")).toBe(true);
    expect(g.str("branch")).toBe("main");
  });

  it("allows options after positionals (GOption permutes)", () => {
    const { args } = parseArgs(["REF", "-R", "path", "--branch=x", "more"], OPTS);
    expect(args.positional).toEqual(["REF", "path", "more"]);
    expect(args.has("recursive")).toBe(true);
    expect(args.str("branch")).toBe("x");
  });

  it("treats everything after -- as positional and drops the --", () => {
    const { args } = parseArgs(["a", "--", "--branch=x", "-R", "--"], OPTS);
    expect(args.positional).toEqual(["a", "--branch=x", "-R", "--"]);
    expect(args.has("branch")).toBe(false);
    expect(args.has("recursive")).toBe(false);
  });

  it("treats a lone - as a positional", () => {
    expect(parseArgs(["-"], OPTS).args.positional).toEqual(["-"]);
  });

  it("collects repeatable options in order; a repeated plain option keeps the last value", () => {
    const { args } = parseArgs(["--tree=dir=a", "--tree", "ref=b", "-b", "one", "-b", "two"], OPTS);
    expect(args.list("tree")).toEqual(["dir=a", "ref=b"]);
    expect(args.str("tree")).toBe("ref=b");
    expect(args.str("branch")).toBe("two");
    expect(args.list("branch")).toEqual(["two"]);
    expect(args.list("depth")).toEqual([]);
  });

  it("keeps an empty value for --x=", () => {
    const { args } = parseArgs(["--branch="], OPTS);
    expect(args.str("branch")).toBe("");
    expect(args.has("branch")).toBe(true);
  });

  it("rejects unknown long and short options with GOption's message (whole token)", () => {
    expect(usageMessage(() => parseArgs(["--bogus"], OPTS))).toBe("Unknown option --bogus");
    expect(usageMessage(() => parseArgs(["--bogus=1"], OPTS))).toBe("Unknown option --bogus=1");
    expect(usageMessage(() => parseArgs(["-Z"], OPTS))).toBe("Unknown option -Z");
    expect(usageMessage(() => parseArgs(["-RZ"], OPTS))).toBe("Unknown option -RZ");
  });

  it("reports a missing value", () => {
    expect(usageMessage(() => parseArgs(["--depth"], OPTS))).toBe("Missing argument for --depth");
    expect(usageMessage(() => parseArgs(["-b"], OPTS))).toBe("Missing argument for -b");
  });

  it("rejects a value given to a boolean flag", () => {
    expect(usageMessage(() => parseArgs(["--recursive=yes"], OPTS))).toBe(
      "Option --recursive does not take a value",
    );
  });

  it("a flag marked ignoresValue takes --flag=VALUE as GOption does: set, whatever VALUE says", () => {
    const opts: OptionSpec[] = [{ long: "gpg-verify", help: "x", ignoresValue: true }];
    for (const a of ["--gpg-verify=true", "--gpg-verify=false", "--gpg-verify"])
      expect(parseArgs([a, "src"], opts).args.has("gpg-verify")).toBe(true);
    expect(parseArgs(["--gpg-verify", "src"], opts).args.positional).toEqual(["src"]);
  });

  it("stops at -h/--help, but an error before it still wins", () => {
    expect(parseArgs(["--help", "--bogus"], OPTS).help).toBe(true);
    expect(parseArgs(["-h", "--repo"], OPTS).help).toBe(true);
    expect(parseArgs(["-Rh"], OPTS).help).toBe(true);
    expect(usageMessage(() => parseArgs(["--bogus", "--help"], OPTS))).toBe("Unknown option --bogus");
    expect(usageMessage(() => parseArgs(["--help=x"], OPTS))).toBe("Unknown option --help=x");
  });

  it("lets the first option with a name win (command options before globals)", () => {
    const opts: OptionSpec[] = [
      { long: "view", short: "v", help: "View" },
      { long: "verbose", short: "v", help: "Verbose" },
    ];
    const { args } = parseArgs(["-v"], opts);
    expect(args.has("view")).toBe(true);
    expect(args.has("verbose")).toBe(false);
  });

  it("skips unknown options in lenient mode", () => {
    const r = parseArgs(["--bogus", "-Z", "x", "--help"], OPTS, { lenient: true });
    expect(r.help).toBe(true);
    expect(parseArgs(["--recursive=1", "--depth"], OPTS, { lenient: true }).help).toBe(false);
  });

  it("accepts a hidden option", () => {
    expect(parseArgs(["--secret"], OPTS).args.has("secret")).toBe(true);
  });
});

describe("parseIntOption() / args.int()", () => {
  it("parses decimal, hex, octal and signs like strtol(…, 0)", () => {
    expect(parseIntOption("42", "--depth")).toBe(42);
    expect(parseIntOption("-1", "--depth")).toBe(-1);
    expect(parseIntOption("0x10", "--depth")).toBe(16);
    expect(parseIntOption("010", "--depth")).toBe(8);
    expect(parseIntOption("0", "--depth")).toBe(0);
  });

  it("rejects junk and out-of-range values with GOption's messages", () => {
    expect(usageMessage(() => parseIntOption("x", "--depth"))).toBe(
      "Cannot parse integer value “x” for --depth",
    );
    expect(usageMessage(() => parseIntOption("12abc", "--depth"))).toBe(
      "Cannot parse integer value “12abc” for --depth",
    );
    expect(usageMessage(() => parseIntOption("", "--depth"))).toBe(
      "Cannot parse integer value “” for --depth",
    );
    expect(usageMessage(() => parseIntOption("4294967296", "--depth"))).toBe(
      "Integer value “4294967296” for --depth out of range",
    );
  });

  it("is available on parsed args", () => {
    const { args } = parseArgs(["--depth=3"], OPTS);
    expect(args.int("depth")).toBe(3);
    expect(args.int("branch")).toBeUndefined();
    expect(usageMessage(() => parseArgs(["--depth=x"], OPTS).args.int("depth"))).toBe(
      "Cannot parse integer value “x” for --depth",
    );
  });
});

describe("formatHelp()", () => {
  it("lays out help like GOption: usage, summary, sections, column = widest + 5", () => {
    const text = formatHelp({
      usage: "ostree refs [OPTION…] [PREFIX]",
      summary: "List refs",
      options: [
        { long: "repo", arg: "PATH", help: "Path to OSTree repository" },
        { long: "create", arg: "NEWREF", help: "Create a new ref" },
        { long: "collections", short: "c", help: "Enable listing collection IDs for refs" },
        { long: "secret", help: "not shown", hidden: true },
      ],
    });
    expect(text).toBe(
      [
        "Usage:",
        "  ostree refs [OPTION…] [PREFIX]",
        "",
        "List refs",
        "",
        "Help Options:",
        "  -h, --help            Show help options",
        "",
        "Application Options:",
        "  --repo=PATH           Path to OSTree repository",
        "  --create=NEWREF       Create a new ref",
        "  -c, --collections     Enable listing collection IDs for refs",
        "",
        "",
      ].join("\n"),
    );
  });

  it("lists commands, widening the column for long command names", () => {
    const text = formatHelp({
      usage: "ostree admin instutil [OPTION…] COMMAND",
      summary: "Deprecated commands intended for installer programs",
      commandsTitle: 'Builtin "admin instutil" Commands:',
      commands: [
        ["selinux-ensure-labeled", "Relabel all or part of a deployment"],
        ["set-kargs", "Set new kernel command line arguments(Not stable)"],
      ],
      options: [{ long: "sysroot", arg: "PATH", help: "Create a new OSTree sysroot at PATH" }],
    });
    expect(text).toContain(
      'Builtin "admin instutil" Commands:\n  selinux-ensure-labeled  Relabel all or part of a deployment\n  set-kargs               Set new',
    );
    expect(text).toContain("  --sysroot=PATH     Create a new OSTree sysroot at PATH\n\n");
    expect(text.match(/^Usage/gm)).toHaveLength(1);
  });

  it("labels options with short name and metavariable", () => {
    expect(optionLabel({ long: "branch", short: "b", arg: "BRANCH", help: "" })).toBe("-b, --branch=BRANCH");
    expect(optionLabel({ long: "orphan", help: "" })).toBe("--orphan");
  });
});
