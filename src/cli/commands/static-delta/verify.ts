/**
 * `static-delta verify [--sign-type=NAME] DELTA KEY…` (as `ostree static-delta verify`): check the
 * stored delta's superblock signature; prints `Verification OK` or `Verification fails` (exit 1,
 * with the reason on stderr).
 */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta verify",
  summary: "Verify static delta signatures",
  usage: "[OPTION…] STATIC-DELTA-FILE [KEY-ID...]",
  repo: true,
  minArgs: 1,
  argsError: "DELTA must be specified",
  options: [
    { long: "sign-type", arg: "NAME", help: "Signature type to use (defaults to 'ed25519')" },
    // newer ostree (not 2022.7): public keys from a file, one per line
    { long: "keys-file", arg: "NAME", help: "Read key(s) from file", hidden: true },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { parseDeltaArg, readSuperblockFileMaybe } = await import("../../../repo/delta-store.js");
    const { verifySuperblockSignature } = await import("../../../delta/sign.js");
    const { ArborError, isArborError } = await import("../../../errors.js");
    const { deltaName } = await import("../../../repo/delta-naming.js");
    const repo = Repo.open(ctx.repoPath());
    const d = parseDeltaArg(args.positional[0]!);
    const file = readSuperblockFileMaybe(repo, d);
    if (!file) throw new ArborError("NOT_FOUND", `Can't find delta ${deltaName(d)}`);
    const type = args.str("sign-type") ?? "ed25519";
    const { deltaKeys } = await import("../../delta-keys.js");
    try {
      const keys = await deltaKeys(ctx, args, args.positional.slice(1), "public");
      await verifySuperblockSignature(file, type, keys, ctx.env);
    } catch (e) {
      if (!isArborError(e) || (e.code !== "SIGNATURE_INVALID" && e.code !== "SIGNATURE_MISSING")) throw e;
      ctx.out.line("Verification fails");
      throw e;
    }
    ctx.out.line("Verification OK");
  },
};
