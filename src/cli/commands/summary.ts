/**
 * `summary -u | --view | --raw | --list-metadata-keys | --print-metadata-key=KEY` (as
 * `ostree summary`): regenerate the repository's summary (signed with GPG and/or a signapi engine
 * when asked), or show it.
 */
import type { VarDict } from "../../core/metadata.js";
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "summary",
  summary: "Manage summary metadata",
  usage: "[OPTION…]",
  repo: true,
  options: [
    { long: "update", short: "u", help: "Update the summary" },
    { long: "view", short: "v", help: "View the local summary file" },
    { long: "raw", help: "View the raw bytes of the summary file" },
    { long: "list-metadata-keys", help: "List the available metadata keys" },
    { long: "print-metadata-key", arg: "KEY", help: "Print string value of metadata key" },
    { long: "gpg-sign", arg: "KEY-ID", repeat: true, help: "GPG Key ID to sign the summary with" },
    { long: "gpg-homedir", arg: "HOMEDIR", help: "GPG Homedir to use when looking for keyrings" },
    { long: "sign", arg: "KEY-ID", repeat: true, help: "Key ID to sign the summary with" },
    { long: "keys-file", arg: "FILE", help: "Read signing keys from FILE (one per line)" },
    { long: "sign-type", arg: "NAME", help: "Signature type to use (defaults to 'ed25519')" },
    {
      long: "add-metadata",
      short: "m",
      arg: "KEY=VALUE",
      repeat: true,
      help: "Additional metadata field to add to the summary",
    },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { ArborError } = await import("../../errors.js");
    const repo = Repo.open(ctx.repoPath());
    const homedir = args.str("gpg-homedir");
    if (args.has("update")) {
      const { updateSummary } = await import("../../repo/summary.js");
      const { parseVariantText } = await import("../../gvariant/text.js");
      const { getSignEngine, gpgSummarySigner, readKeysFile } = await import("../../sign/index.js");
      const additionalMetadata: VarDict = [];
      for (const kv of args.list("add-metadata")) {
        const eq = kv.indexOf("=");
        if (eq < 0) throw new ArborError("USAGE", `Missing '=' in KEY=VALUE metadata '${kv}'`);
        const text = kv.slice(eq + 1);
        let v: VarDict[number][1];
        try {
          v = parseVariantText(text);
        } catch (e) {
          throw new ArborError("USAGE", `Error parsing variant ‘${text}’: ${(e as Error).message}`);
        }
        additionalMetadata.push([kv.slice(0, eq), v]);
      }
      const signers = [];
      const gpgKeys = args.list("gpg-sign");
      if (gpgKeys.length) signers.push(gpgSummarySigner(gpgKeys, homedir));
      const keys = args.list("sign");
      const keysFile = args.str("keys-file");
      if (keys.length || keysFile) {
        const engine = await getSignEngine(args.str("sign-type") ?? "ed25519", ctx.env);
        const secrets = keys.map((k) => engine.parseSecretKey(k));
        if (keysFile) secrets.push(...readKeysFile(engine, keysFile, "secret"));
        signers.push({
          metadataKey: engine.metadataKey,
          sign: async (data: Uint8Array) => secrets.map((sk) => engine.sign(data, sk)),
        });
      }
      if (repo.collectionId) {
        // as ostree: with a collection ID, each update also commits the metadata to ostree-metadata
        const { writeMetadataCommit } = await import("../../repo/metadata-ref.js");
        const { parseSourceDateEpoch } = await import("../parse-time.js");
        const sde = ctx.env.SOURCE_DATE_EPOCH;
        const { commitSignatureMetadata } = await import("../../sign/index.js");
        await writeMetadataCommit(repo, {
          metadata: additionalMetadata,
          timestamp: sde !== undefined ? parseSourceDateEpoch(sde) : Math.floor(Date.now() / 1000),
          ...(gpgKeys.length
            ? {
                signDetached: (cs: string, bytes: Uint8Array, meta: VarDict | null) =>
                  commitSignatureMetadata(cs, bytes, meta, {
                    keys: [],
                    gpgKeys,
                    ...(homedir ? { gpgHomedir: homedir } : {}),
                  }),
              }
            : {}),
        });
      }
      await updateSummary(repo, { additionalMetadata, signers });
      return;
    }
    const view = args.has("view") || args.has("raw");
    const listKeys = args.has("list-metadata-keys");
    const printKey = args.str("print-metadata-key");
    if (!view && !listKeys && printKey === undefined) {
      throw new ArborError("USAGE", "No option specified; use -u to update summary");
    }
    const { readLocalSummary, decodeSummary } = await import("../../repo/summary.js");
    const { formatSummaryView, summaryMetadataKeys } = await import("../../repo/summary-view.js");
    const { summary } = readLocalSummary(repo);
    if (view) {
      // ostree 2022.7 prints the summary only (newer ostree adds its signatures after it)
      ctx.out.write(formatSummaryView(summary, { raw: args.has("raw") }));
      return;
    }
    if (listKeys) {
      for (const k of summaryMetadataKeys(summary)) ctx.out.line(k);
      return;
    }
    const entry = decodeSummary(summary).metadata.find(([k]) => k === printKey);
    if (!entry) throw new ArborError("NOT_FOUND", `No such metadata key '${printKey}'`);
    const { byteswapValue, printVariant } = await import("../../gvariant/text.js");
    const v = entry[1];
    ctx.out.line(printVariant(v.type, byteswapValue(v.type, v.value)));
  },
};
