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
    const obj = args.positional[0]!;
    const vtype = args.str("print-variant-type");
    if (vtype) {
      const { readFileSync } = await import("node:fs");
      const { deserialize } = await import("../../gvariant/index.js");
      const { printVariant } = await import("../../gvariant/text.js");
      const bytes = new Uint8Array(readFileSync(obj));
      ctx.out.line(printVariant(vtype, deserialize(vtype, bytes)));
      return;
    }
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const repo = Repo.open(ctx.repoPath());
    const cs = resolveRev(repo, obj)!;
    const c = repo.loadCommit(cs);
    const printKey = async (
      dict: [string, import("../../gvariant/index.js").Variant][] | null,
      key: string,
    ) => {
      const v = dict?.find(([k]) => k === key)?.[1];
      if (!v) throw new ArborError("NOT_FOUND", `No such metadata key '${key}'`);
      const { printVariant } = await import("../../gvariant/text.js");
      ctx.out.line(printVariant(v.type, v.value));
    };
    if (args.has("list-metadata-keys")) {
      for (const [k] of c.metadata) ctx.out.line(k);
      return;
    }
    if (args.has("list-detached-metadata-keys")) {
      for (const [k] of repo.loadCommitMeta(cs) ?? []) ctx.out.line(k);
      return;
    }
    const key = args.str("print-metadata-key");
    if (key) return printKey(c.metadata, key);
    const dkey = args.str("print-detached-metadata-key");
    if (dkey) return printKey(repo.loadCommitMeta(cs), dkey);
    if (args.has("print-related")) {
      for (const [name, rcs] of c.related) ctx.out.line(`${name} ${rcs}`);
      return;
    }
    if (ctx.json) {
      const { commitJson } = await import("../format-commit.js");
      ctx.printJson("Commit", { ...commitJson(cs, c), partial: repo.isCommitPartial(cs) });
      return;
    }
    if (args.has("raw")) {
      const { COMMIT } = await import("../../gvariant/formats.js");
      const { deserialize } = await import("../../gvariant/index.js");
      const { printVariant } = await import("../../gvariant/text.js");
      ctx.out.line(`commit ${cs}`);
      ctx.out.line(printVariant(COMMIT, deserialize(COMMIT, repo.readMetadata("commit", cs))));
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
