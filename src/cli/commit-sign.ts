/**
 * `commit --sign/--gpg-sign`: sign a freshly written commit (ed25519 into detached metadata,
 * GPG through the gpg program), as ostree does right after writing the commit.
 */
import { ArborError } from "../errors.js";
import type { Repo } from "../repo/repo.js";
import type { ParsedArgs } from "./command.js";
import type { Context } from "./context.js";

export async function signCommitFromCli(
  _ctx: Context,
  args: ParsedArgs,
  repo: Repo,
  commit: string,
): Promise<void> {
  const mod = (await import("../sign/index.js").catch(() => null)) as null | {
    signCommit?: (
      repo: Repo,
      commit: string,
      o: { type: string; keys: string[]; gpgKeys: string[]; gpgHomedir?: string },
    ) => Promise<void>;
  };
  if (!mod?.signCommit) throw new ArborError("UNSUPPORTED", "Signing is not available in this build");
  await mod.signCommit(repo, commit, {
    type: args.str("sign-type") ?? "ed25519",
    keys: args.list("sign"),
    gpgKeys: args.list("gpg-sign"),
    ...(args.str("gpg-homedir") ? { gpgHomedir: args.str("gpg-homedir") } : {}),
  });
}
