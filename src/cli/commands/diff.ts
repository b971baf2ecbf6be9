/**
 * `arbor diff [REV_OR_DIR] REV_OR_DIR`: compare two commits or directories (as `ostree diff`).
 * An argument starting with `/` or `./` is a directory, anything else a rev; a single argument
 * compares `REV^` with `REV`. Paths of a stored tree print as `/a/b`, paths of a directory on disk
 * relative to it (`a/b`), as ostree prints them.
 */

import { formatSize } from "../../core/format-size.js";
import type { CommandSpec } from "../command.js";

const isDirArg = (s: string): boolean => s.startsWith("/") || s.startsWith("./");

export const command: CommandSpec = {
  name: "diff",
  summary: "Compare directory TARGETDIR against revision REV",
  usage: "[OPTION…] REV_OR_DIR REV_OR_DIR",
  repo: true,
  json: true,
  minArgs: 1,
  argsError: "REV must be specified",
  options: [
    { long: "stats", help: "Print various statistics" },
    { long: "fs-diff", help: "Print filesystem diff" },
    { long: "no-xattrs", help: "Skip output of extended attributes" },
    { long: "owner-uid", arg: "UID", help: "Use file ownership user id for local files" },
    { long: "owner-gid", arg: "GID", help: "Use file ownership group id for local files" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { diffTrees, diffStats } = await import("../../repo/diff.js");
    const { resolve } = await import("node:path");
    const repo = Repo.open(ctx.repoPath());
    const [first, second] = args.positional as [string, string | undefined];
    const src = second === undefined ? `${first}^` : first;
    const target = second ?? first;
    const stats = args.has("stats");
    const fsDiff = args.has("fs-diff") || !stats;
    const uid = args.int("owner-uid");
    const gid = args.int("owner-gid");
    const side = (s: string) => (isDirArg(s) ? { kind: "dir" as const, path: resolve(ctx.cwd, s) } : s);
    const doc: Record<string, unknown> = {};
    if (fsDiff) {
      const d = await diffTrees(repo, side(src), side(target), {
        noXattrs: args.has("no-xattrs"),
        ...(uid !== undefined && uid >= 0 ? { ownerUid: uid } : {}),
        ...(gid !== undefined && gid >= 0 ? { ownerGid: gid } : {}),
        signal: ctx.signal,
      });
      if (ctx.json) Object.assign(doc, d);
      else {
        const show = (arg: string, p: string): string => (isDirArg(arg) ? p.slice(1) : p);
        for (const m of d.modified) ctx.out.line(`M    ${show(src, m.path)}`);
        for (const p of d.removed) ctx.out.line(`D    ${show(src, p)}`);
        for (const p of d.added) ctx.out.line(`A    ${show(target, p)}`);
      }
    }
    if (stats) {
      const s = diffStats(repo, src, target);
      if (ctx.json) doc.stats = s;
      else {
        ctx.out.line(`[A] Object Count: ${s.objectsA}`);
        ctx.out.line(`[B] Object Count: ${s.objectsB}`);
        ctx.out.line(`Common Object Count: ${s.commonObjects}`);
        ctx.out.line(`Common Object Size: ${formatSize(s.commonSize)}`);
      }
    }
    if (ctx.json) ctx.printJson("Diff", doc);
  },
};
