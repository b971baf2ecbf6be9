/**
 * `sign COMMIT KEY…` (as `ostree sign`): add signapi (ed25519 by default) signatures to a commit's
 * detached metadata; `--verify` checks them against the given public keys, a keys file or the
 * system trusted keys; `--delete` removes the signatures made by the given keys.
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "sign",
  summary: "Sign a commit",
  usage: "[OPTION…] COMMIT KEY-ID...",
  repo: true,
  minArgs: 1,
  argsError: "Need a COMMIT to sign or verify",
  options: [
    { long: "delete", short: "d", help: "Delete signatures having any of the KEY-IDs" },
    { long: "verify", help: "Verify signatures" },
    { long: "sign-type", short: "s", arg: "NAME", help: "Signature type to use (defaults to 'ed25519')" },
    { long: "keys-file", arg: "NAME", help: "Read keys from file" },
    {
      long: "keys-dir",
      arg: "NAME",
      help: "Redefine system-wide directories with public and revoked keys for verification",
    },
  ],
  async run(ctx, args) {
    const [rev, ...keys] = args.positional as [string, ...string[]];
    const keysFile = args.str("keys-file");
    if (!args.has("verify") && !keysFile && keys.length === 0) {
      throw ctx.usageError("Need at least one KEY-ID to sign with");
    }
    const { Repo } = await import("../../repo/repo.js");
    const { resolveRev } = await import("../../repo/refs.js");
    const { ArborError, isArborError } = await import("../../errors.js");
    const sign = await import("../../sign/index.js");
    const repo = Repo.open(ctx.repoPath());
    const commit = resolveRev(repo, rev)!;
    const engine = await sign.getSignEngine(args.str("sign-type") ?? "ed25519", ctx.env);

    if (args.has("verify")) {
      let lastError: unknown = null;
      for (const k of keys) {
        let pk: Uint8Array;
        try {
          pk = engine.parsePublicKey(k);
        } catch (e) {
          lastError = e;
          continue;
        }
        try {
          ctx.out.line(sign.verifyCommitSignature(repo, commit, engine, { trusted: [pk], revoked: [] }));
          return;
        } catch (e) {
          lastError = e;
        }
      }
      if (keys.length === 0 || keysFile) {
        const set = sign.loadVerificationKeys(engine, {
          ...(keysFile ? { keysFile } : {}),
          ...(args.str("keys-dir") ? { keysDir: args.str("keys-dir") } : {}),
        });
        ctx.out.line(sign.verifyCommitSignature(repo, commit, engine, set));
        return;
      }
      if (isArborError(lastError)) ctx.debug(lastError.message);
      throw new ArborError("SIGNATURE_INVALID", "No valid signatures found", { data: { commit } });
    }

    if (args.has("delete")) {
      const pks = keys.map((k) => {
        try {
          return engine.parsePublicKey(k);
        } catch {
          return engine.publicKeyOf(engine.parseSecretKey(k));
        }
      });
      const n = await sign.deleteCommitSignatures(repo, commit, engine, pks);
      ctx.debug(`Signatures deleted: ${n}`);
      return;
    }

    const secrets = keys.map((k) => engine.parseSecretKey(k));
    if (keysFile) secrets.push(...sign.readKeysFile(engine, keysFile, "secret"));
    const { signCommit } = await import("../../sign/commit-sign.js");
    await signCommit(repo, commit, engine, secrets);
  },
};
