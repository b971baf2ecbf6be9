/** `arbor checkout REV [DEST]`: check out a commit into a directory (as `ostree checkout`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "checkout",
  summary: "Check out a commit into a filesystem tree",
  usage: "[OPTION…] COMMIT [DESTINATION]",
  repo: true,
  minArgs: 1,
  maxArgs: 2,
  argsError: "COMMIT must be specified",
  options: [
    { long: "user-mode", short: "U", help: "Do not change file ownership or initialize extended attributes" },
    {
      long: "disable-cache",
      help: "Do not update or use the internal repository uncompressed object cache",
    },
    { long: "subpath", arg: "PATH", help: "Checkout sub-directory PATH" },
    { long: "union", help: "Keep existing directories, overwrite existing files" },
    { long: "union-add", help: "Keep existing files/directories, only add new" },
    {
      long: "union-identical",
      help: "When layering checkouts, error out if a file would be replaced with a different version, but add new files and directories",
    },
    { long: "whiteouts", help: "Process 'whiteout' (Docker style) entries" },
    {
      long: "process-passthrough-whiteouts",
      help: "Enable overlayfs whiteout extraction into char 0:0 devices",
    },
    { long: "allow-noent", help: "Do nothing if specified path does not exist" },
    { long: "from-stdin", help: "Process many checkouts from standard input" },
    { long: "from-file", arg: "FILE", help: "Process many checkouts from input file" },
    { long: "fsync", arg: "POLICY", help: "Specify how to invoke fsync()" },
    { long: "require-hardlinks", short: "H", help: "Do not fall back to full copies if hardlinking fails" },
    {
      long: "force-copy-zerosized",
      short: "z",
      help: "Do not hardlink zero-sized files (accepted)",
      hidden: true,
    },
    { long: "force-copy", short: "C", help: "Never hardlink (but may reflink if available)" },
    {
      long: "bareuseronly-dirs",
      short: "M",
      help: "Suppress mode bits outside of 0775 for directories (suid, world writable, etc.)",
    },
    { long: "skip-list", arg: "PATH", help: "File containing list of files to skip" },
    {
      long: "selinux-policy",
      arg: "PATH",
      help: "Set SELinux labels based on policy in root filesystem PATH (accepted)",
    },
    {
      long: "selinux-prefix",
      arg: "PATH",
      help: "When setting SELinux labels, prefix all paths by PATH (accepted)",
    },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { checkoutTree } = await import("../../repo/checkout.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { ArborError } = await import("../../errors.js");
    const { readFileSync } = await import("node:fs");
    const { resolve } = await import("node:path");
    const fail = (m: string) => new ArborError("USAGE", m);
    // ostree's option checks, in its order and wording
    if (args.has("union") && args.has("union-add")) throw fail("Cannot specify both --union and --union-add");
    if (args.has("union") && args.has("union-identical"))
      throw fail("Cannot specify both --union and --union-identical");
    if (args.has("union-add") && args.has("union-identical"))
      throw fail("Cannot specify both --union-add and --union-identical");
    if (args.has("require-hardlinks") && args.has("force-copy"))
      throw fail("Cannot specify both --require-hardlinks and --force-copy");
    if (args.has("selinux-prefix") && !args.has("selinux-policy"))
      throw fail("Cannot specify --selinux-prefix without --selinux-policy");
    if (args.has("union-identical") && !args.has("require-hardlinks"))
      throw fail("--union-identical requires --require-hardlinks");
    const repo = Repo.open(ctx.repoPath());
    const skipFile = args.str("skip-list");
    const base = {
      userMode: args.has("user-mode"),
      union: args.has("union"),
      unionAdd: args.has("union-add"),
      unionIdentical: args.has("union-identical"),
      whiteouts: args.has("whiteouts"),
      allowNoent: args.has("allow-noent"),
      requireHardlinks: args.has("require-hardlinks"),
      forceCopy: args.has("force-copy"),
      uncompressedCache: !args.has("disable-cache"),
      passthroughWhiteouts: args.has("process-passthrough-whiteouts"),
      bareuseronlyDirs: args.has("bareuseronly-dirs"),
      ...(skipFile
        ? {
            skipList: new Set(
              readFileSync(skipFile, "utf8")
                .split("\n")
                .filter((l) => l !== ""),
            ),
          }
        : {}),
    };
    const progress = ctx.progress();
    const one = async (rev: string, subpath: string | undefined, dest: string): Promise<void> => {
      await checkoutTree(repo, {
        ...base,
        rev,
        dest: resolve(ctx.cwd, dest),
        ...(subpath ? { subpath } : {}),
        onProgress: (p) => progress.update(`Checking out: ${p.files} files`),
      });
    };
    const fromFile = args.str("from-file") ?? (args.has("from-stdin") ? "/dev/stdin" : undefined);
    if (fromFile !== undefined) {
      // ostree's format: NUL-terminated pairs "REV\0SUBPATH\0", all checked out into DESTINATION (argv[1])
      const dest = args.positional[0]!;
      const fields = readFileSync(fromFile, "utf8").split("\0");
      for (let i = 0; i + 1 < fields.length && fields[i] !== ""; i += 2) {
        const cs = resolveRev(repo, fields[i]!)!;
        try {
          await one(cs, fields[i + 1] || undefined, dest);
        } catch (e) {
          throw new ArborError(
            e instanceof ArborError ? e.code : "IO",
            `Processing tree ${cs}: ${e instanceof Error ? e.message : String(e)}`,
            { cause: e },
          );
        }
      }
    } else {
      const rev = args.positional[0]!;
      // like ostree, the destination defaults to the COMMIT argument itself
      await one(rev, args.str("subpath"), args.positional[1] ?? rev);
    }
    progress.done();
  },
};
