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
    { long: "disable-cache", help: "Do not use the uncompressed-objects cache (accepted; arbor has none)", hidden: true },
    { long: "subpath", arg: "PATH", help: "Checkout sub-directory PATH" },
    { long: "union", help: "Keep existing directories, overwrite existing files" },
    { long: "union-add", help: "Keep existing files/directories, only add new" },
    { long: "union-identical", help: "When layering checkouts, error out if a file would be replaced with a different version, but add new files and directories" },
    { long: "whiteouts", help: "Process 'whiteout' (Docker style) entries" },
    { long: "process-passthrough-whiteouts", help: "Enable overlayfs whiteout extraction into char 0:0 devices (not supported)", hidden: true },
    { long: "allow-noent", help: "Do nothing if specified path does not exist" },
    { long: "from-stdin", help: "Process many checkouts from standard input", hidden: true },
    { long: "from-file", arg: "FILE", help: "Process many checkouts from input file" },
    { long: "fsync", arg: "POLICY", help: "Specify how to invoke fsync()" },
    { long: "require-hardlinks", short: "H", help: "Do not fall back to full copies if hardlinking fails" },
    { long: "force-copy-zerosized", short: "z", help: "Do not hardlink zero-sized files (accepted)", hidden: true },
    { long: "force-copy", short: "C", help: "Never hardlink (but may reflink if available)" },
    { long: "bareuseronly-dirs", short: "M", help: "Suppress mode bits outside of 0775 for directories (accepted)", hidden: true },
    { long: "skip-list", arg: "PATH", help: "File containing list of files to skip" },
    { long: "selinux-policy", arg: "PATH", help: "Set SELinux labels based on policy in root filesystem PATH (accepted)", hidden: true },
    { long: "selinux-prefix", arg: "PATH", help: "When setting SELinux labels, prefix all paths by PATH (accepted)", hidden: true },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { checkoutTree } = await import("../../repo/checkout.js");
    const { readFileSync } = await import("node:fs");
    const { resolve, basename } = await import("node:path");
    const repo = Repo.open(ctx.repoPath());
    const base = {
      userMode: args.has("user-mode"),
      union: args.has("union"),
      unionAdd: args.has("union-add"),
      unionIdentical: args.has("union-identical"),
      whiteouts: args.has("whiteouts"),
      allowNoent: args.has("allow-noent"),
      requireHardlinks: args.has("require-hardlinks"),
      forceCopy: args.has("force-copy"),
      ...(args.str("skip-list")
        ? { skipList: new Set(readFileSync(args.str("skip-list")!, "utf8").split("\n").map((l) => l.trim()).filter(Boolean)) }
        : {}),
    };
    const jobs: Array<{ rev: string; dest: string }> = [];
    const fromFile = args.str("from-file") ?? (args.has("from-stdin") ? "/dev/stdin" : undefined);
    if (fromFile) {
      for (const line of readFileSync(fromFile, "utf8").split("\n")) {
        const [rev, dest] = line.trim().split(/\s+/);
        if (rev && dest) jobs.push({ rev, dest: resolve(ctx.cwd, dest) });
      }
    } else {
      const rev = args.positional[0]!;
      const dest = args.positional[1] ?? basename(rev);
      jobs.push({ rev, dest: resolve(ctx.cwd, dest) });
    }
    const progress = ctx.progress();
    for (const j of jobs) {
      await checkoutTree(repo, {
        ...base,
        rev: j.rev,
        dest: j.dest,
        ...(args.str("subpath") ? { subpath: args.str("subpath") } : {}),
        onProgress: (p) => progress.update(`Checking out: ${p.files} files`),
      });
    }
    progress.done();
  },
};
