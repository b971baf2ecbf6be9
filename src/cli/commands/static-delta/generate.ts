/**
 * `static-delta generate [--from=REV|--empty] --to=REV` (as `ostree static-delta generate`).
 * Without --from or --empty the delta is from TO's parent. Prints the header on stdout and the
 * generation statistics on stderr, as ostree does.
 */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta generate",
  summary: "Generate static delta files",
  usage: "[OPTION…] [TO]",
  repo: true,
  maxArgs: 1,
  options: [
    { long: "from", arg: "REV", help: "Create delta from revision REV" },
    { long: "empty", help: "Create delta from scratch" },
    { long: "inline", help: "Inline delta parts into main delta" },
    { long: "to", arg: "REV", help: "Create delta to revision REV" },
    { long: "disable-bsdiff", help: "Disable use of bsdiff" },
    { long: "if-not-exists", short: "n", help: "Only generate if a delta does not already exist" },
    { long: "set-endianness", arg: "ENDIAN", help: "Choose metadata endianness ('l' or 'B')" },
    { long: "swap-endianness", help: "Swap metadata endianness from host order" },
    {
      long: "min-fallback-size",
      arg: "",
      help: "Minimum uncompressed size in megabytes for individual HTTP request",
    },
    {
      long: "max-bsdiff-size",
      arg: "",
      help: "Maximum size in megabytes to consider bsdiff compression for input files",
    },
    { long: "max-chunk-size", arg: "", help: "Maximum size of delta chunks in megabytes" },
    {
      long: "filename",
      arg: "PATH",
      help: "Write the delta content to PATH (a directory).  If not specified, the OSTree repository is used",
    },
    { long: "sign", arg: "KEY_ID", repeat: true, help: "Sign the delta with" },
    { long: "sign-type", arg: "NAME", help: "Signature type to use (defaults to 'ed25519')" },
    // newer ostree (not 2022.7): secret keys from a file, one per line
    { long: "keys-file", arg: "NAME", help: "Read key(s) from file", hidden: true },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { resolveRev } = await import("../../../repo/refs.js");
    const { ArborError } = await import("../../../errors.js");
    const { generateDelta } = await import("../../../delta/generate.js");
    const { deltaKeys } = await import("../../delta-keys.js");
    const { readSuperblockFileMaybe } = await import("../../../repo/delta-store.js");
    const { deltaName } = await import("../../../repo/delta-naming.js");
    const { resolve } = await import("node:path");
    const repo = Repo.open(ctx.repoPath());
    if (args.has("empty") && args.has("from"))
      throw new ArborError("USAGE", "Cannot specify both --empty and --from=REV");
    const toRev = args.str("to") ?? args.positional[0];
    if (!toRev) throw new ArborError("USAGE", "TO revision must be specified");
    const mb = (name: string, dflt: number): number => {
      const s = args.str(name);
      if (s === undefined) return dflt * 1000 * 1000;
      const n = Number(s);
      if (!/^\d+$/.test(s) || !Number.isSafeInteger(n))
        throw new ArborError("USAGE", `Invalid --${name} "${s}"`);
      return n * 1000 * 1000;
    };
    const endian = args.str("set-endianness");
    if (endian !== undefined && endian !== "l" && endian !== "B")
      throw new ArborError("USAGE", `Invalid endianness '${endian}'`);
    const opts = {
      minFallbackSize: mb("min-fallback-size", 4),
      maxBsdiffSize: mb("max-bsdiff-size", 128),
      maxChunkSize: mb("max-chunk-size", 32),
    };
    const to = resolveRev(repo, toRev, { allowNoent: false })!;
    let from: string | null = null;
    if (args.has("from")) from = resolveRev(repo, args.str("from")!, { allowNoent: false })!;
    else if (!args.has("empty")) from = repo.loadCommit(to).parent;
    const name = deltaName({ from, to });
    if (args.has("if-not-exists") && !args.has("filename") && readSuperblockFileMaybe(repo, { from, to })) {
      ctx.out.line(`Delta ${name} already exists.`);
      return;
    }
    ctx.out.line("Generating static delta:");
    ctx.out.line(`  From: ${from ?? "empty"}`);
    ctx.out.line(`  To:   ${to}`);
    const r = await generateDelta(repo, {
      from,
      to,
      inline: args.has("inline"),
      filename: args.has("filename") ? resolve(ctx.cwd, args.str("filename")!) : undefined,
      disableBsdiff: args.has("disable-bsdiff"),
      ...opts,
      bigEndian: endian !== undefined ? endian === "B" : args.has("swap-endianness"),
      signType: args.str("sign-type"),
      signKeys: await deltaKeys(ctx, args, args.list("sign"), "secret"),
      env: ctx.env,
    });
    const e = (s: string): void => ctx.err.line(s);
    e(`modified: ${r.modified}`);
    e(`new reachable: metadata=${r.newMetadata} content regular=${r.newRegular} symlink=${r.newSymlink}`);
    e(`rollsum for 0/${r.modified} modified`);
    if (r.bsdiff > 0) e(`processing bsdiff: [0/${r.bsdiff}]`);
    r.parts.forEach((p, i) => {
      e(`part ${i + 1} n:${p.objects} compressed:${p.compressed} uncompressed:${p.uncompressed}`);
    });
    e(`uncompressed=${r.uncompressed} compressed=${r.compressed} loose=${r.loose}`);
    e("rollsum=0 objects, 0 bytes");
    e(`bsdiff=${r.bsdiff} objects`);
  },
};
