/** `arbor show OBJECT`: show a commit, a metadata key, or a raw variant (as `ostree show`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "show",
  summary: "Output a metadata object",
  usage: "[OPTION…] OBJECT",
  repo: true,
  json: true,
  minArgs: 1,
  maxArgs: 1,
  argsError: "An object argument is required",
  options: [
    { long: "print-related", help: 'Show the "related" commits' },
    {
      long: "print-variant-type",
      arg: "TYPE",
      help: "Memory map OBJECT (in this case a filename) to the GVariant type string",
    },
    { long: "list-metadata-keys", help: "List the available metadata keys" },
    { long: "print-metadata-key", arg: "KEY", help: "Print string value of metadata key" },
    { long: "list-detached-metadata-keys", help: "List the available detached metadata keys" },
    { long: "print-detached-metadata-key", arg: "KEY", help: "Print string value of detached metadata key" },
    { long: "print-sizes", help: "Show the commit size metadata" },
    { long: "raw", help: "Show raw variant data" },
    { long: "no-byteswap", short: "B", help: "Do not automatically convert variant data from big endian" },
    { long: "no-list", hidden: true, help: "" },
    { long: "gpg-homedir", arg: "HOMEDIR", help: "GPG Homedir to use when looking for keyrings" },
    { long: "gpg-verify-remote", arg: "REMOTE", help: "Use REMOTE name for GPG configuration" },
    {
      long: "gpg-verify",
      help: "Verify GPG signatures (accepted for compatibility; see `sign --verify`)",
      hidden: true,
    },
  ],
  async run(ctx, args) {
    const { ArborError } = await import("../../errors.js");
    const { printVariant, byteswapValue } = await import("../../gvariant/text.js");
    const { deserialize } = await import("../../gvariant/index.js");
    type GV = import("../../gvariant/index.js").Variant;
    const noSwap = args.has("no-byteswap");
    // ostree prints variants byte-swapped on little-endian hosts (its on-disk numbers are big-endian)
    const dump = (type: string, value: unknown, swap = !noSwap): string =>
      printVariant(type, swap ? byteswapValue(type, value as never) : (value as never));
    const obj = args.positional[0]!;
    const vtype = args.str("print-variant-type");
    if (vtype) {
      const { readFileSync } = await import("node:fs");
      ctx.out.line(dump(vtype, deserialize(vtype, new Uint8Array(readFileSync(obj))), true));
      return;
    }
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { isChecksum } = await import("../../core/validate.js");
    const repo = Repo.open(ctx.repoPath());
    const printKey = (dict: [string, GV][], key: string): void => {
      const v = dict.find(([k]) => k === key)?.[1];
      if (!v) throw new ArborError("NOT_FOUND", `No such metadata key '${key}'`);
      ctx.out.line(dump(v.type, v.value));
    };
    const key = args.str("print-metadata-key");
    const dkey = args.str("print-detached-metadata-key");
    if (key !== undefined || dkey !== undefined) {
      const cs = resolveRev(repo, obj)!;
      if (dkey === undefined) return printKey(repo.loadCommit(cs).metadata, key!);
      const meta = repo.loadCommitMeta(cs);
      if (!meta) throw new ArborError("NOT_FOUND", `No detached metadata for commit ${cs}`);
      return printKey(meta, dkey);
    }
    if (args.has("print-sizes")) {
      const { printCommitSizes } = await import("../show-sizes.js");
      ctx.out.lines(printCommitSizes(repo, resolveRev(repo, obj)!));
      return;
    }
    if (args.has("print-related")) {
      for (const [name, rcs] of repo.loadCommit(resolveRev(repo, obj)!).related)
        ctx.out.line(`${name} ${rcs}`);
      return;
    }
    if (args.has("list-metadata-keys")) {
      for (const [k] of repo.loadCommit(resolveRev(repo, obj)!).metadata) ctx.out.line(k);
      return;
    }
    if (args.has("list-detached-metadata-keys")) {
      for (const [k] of repo.loadCommitMeta(resolveRev(repo, obj)!) ?? []) ctx.out.line(k);
      return;
    }
    // A full checksum may name a commit, dirmeta, dirtree or file object (tried in that order).
    if (isChecksum(obj) && !repo.hasObject("commit", obj)) {
      const { DIRMETA, DIRTREE } = await import("../../gvariant/formats.js");
      for (const [type, format] of [
        ["dirmeta", DIRMETA],
        ["dirtree", DIRTREE],
      ] as const) {
        if (!repo.hasObject(type, obj)) continue;
        ctx.out.line(`${type} ${obj}`);
        if (noSwap || args.has("raw"))
          ctx.out.line(dump(format, deserialize(format, repo.readMetadata(type, obj))));
        return;
      }
      const { showFileObject } = await import("../show-file.js");
      ctx.out.write(showFileObject(repo, obj));
      return;
    }
    const cs = resolveRev(repo, obj)!;
    const c = repo.loadCommit(cs);
    if (ctx.json) {
      const { commitJson } = await import("../format-commit.js");
      ctx.printJson("Commit", { ...commitJson(cs, c), partial: repo.isCommitPartial(cs) });
      return;
    }
    if (noSwap || args.has("raw")) {
      const { COMMIT } = await import("../../gvariant/formats.js");
      ctx.out.line(`commit ${cs}`);
      ctx.out.line(dump(COMMIT, deserialize(COMMIT, repo.readMetadata("commit", cs))));
      // -B prints the unswapped variant and then the usual summary (without its "commit" line)
      if (!args.has("raw")) {
        const { formatCommit } = await import("../format-commit.js");
        ctx.out.write(formatCommit(cs, c).replace(/^commit [^\n]*\n/, ""));
      }
    } else {
      const { formatCommit } = await import("../format-commit.js");
      ctx.out.write(formatCommit(cs, c));
    }
    // GPG signatures, as ostree prints them after a commit (nothing when it has none)
    const { describeCommitGpgSignatures } = await import("../../sign/describe.js");
    const remote = args.str("gpg-verify-remote");
    const homedir = args.str("gpg-homedir");
    const sigs = await describeCommitGpgSignatures(repo, cs, {
      ...(remote !== undefined ? { remote } : {}),
      ...(homedir !== undefined ? { homedir } : {}),
    });
    if (sigs) ctx.out.write(sigs);
  },
};
