/** `arbor ls REV [PATH…]`: list a commit's tree (as `ostree ls`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "ls",
  summary: "List file paths",
  usage: "[OPTION…] COMMIT [PATH…]",
  repo: true,
  json: true,
  minArgs: 1,
  argsError: "An COMMIT argument is required",
  options: [
    { long: "dironly", short: "d", help: "Do not recurse into directory arguments" },
    { long: "recursive", short: "R", help: "Print directories recursively" },
    { long: "checksum", short: "C", help: "Print checksum" },
    { long: "xattrs", short: "X", help: "Print xattrs" },
    { long: "nul-filenames-only", help: "Print only filenames, NUL separated" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { listTree } = await import("../../repo/list-tree.js");
    const repo = Repo.open(ctx.repoPath());
    const [rev, ...paths] = args.positional as [string, ...string[]];
    const commit = repo.loadCommit(resolveRev(repo, rev)!);
    const opts = {
      recursive: args.has("recursive"),
      dirOnly: args.has("dironly"),
      xattrs: args.has("xattrs"),
    };
    const showCs = args.has("checksum");
    const nul = args.has("nul-filenames-only");
    const text = opts.xattrs ? await import("../../gvariant/text.js") : null;
    const { xattrsToGV } = await import("../../core/content-header.js");
    const { formatMode } = await import("../../core/mode.js");
    const entries: unknown[] = [];
    for (const p of paths.length ? paths : ["/"]) {
      const found = listTree(repo, commit.rootTree, commit.rootMeta, p, opts);
      for (const e of found) {
        if (ctx.json) {
          entries.push({
            path: e.path,
            type: e.type,
            mode: e.mode,
            uid: e.uid,
            gid: e.gid,
            size: e.size,
            checksum: e.checksum,
            ...(e.target !== undefined ? { target: e.target } : {}),
          });
          continue;
        }
        if (nul) {
          ctx.out.write(`${e.path}\0`);
          continue;
        }
        let line = `${formatMode(e.mode)} ${e.uid} ${e.gid} ${String(e.size).padStart(6)} `;
        if (showCs) line += e.type === "dir" ? `${e.checksum} ${e.metaChecksum} ` : `${e.checksum} `;
        if (text) line += `{ ${text.printVariant("a(ayay)", xattrsToGV(e.xattrs ?? []))} } `;
        line += e.path;
        if (e.target !== undefined) line += ` -> ${e.target}`;
        ctx.out.line(line);
      }
    }
    if (ctx.json) ctx.printJson("TreeListing", { entries });
  },
};
