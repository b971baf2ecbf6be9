/**
 * `remote gpg-import NAME [KEY-ID…]` (as `ostree remote gpg-import`): add public keys from keyring
 * files (`-k`) or standard input (`--stdin`) to the remote's keyring `NAME.trustedkeys.gpg`.
 */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote gpg-import",
  summary: "Import GPG keys",
  usage: "[OPTION…] NAME [KEY-ID...]",
  repo: true,
  minArgs: 1,
  argsError: "NAME must be specified",
  options: [
    {
      long: "keyring",
      short: "k",
      arg: "FILE",
      repeat: true,
      help: "Import keys from a keyring file (repeatable)",
    },
    { long: "stdin", help: "Import keys from standard input" },
  ],
  async run(ctx, args) {
    if (args.has("stdin") && args.list("keyring").length) {
      throw ctx.usageError("--keyring and --stdin are mutually exclusive");
    }
    const { readFileSync } = await import("node:fs");
    const { resolve } = await import("node:path");
    const { Repo } = await import("../../../repo/repo.js");
    const { fromSystemError } = await import("../../../errors.js");
    const { importRemoteGpgKeys } = await import("../../../sign/gpg-import.js");
    const [name, ...keyIds] = args.positional as [string, ...string[]];
    const sources: Uint8Array[] = [];
    if (args.has("stdin")) sources.push(readFileSync(0));
    for (const f of args.list("keyring")) {
      try {
        sources.push(readFileSync(resolve(ctx.cwd, f)));
      } catch (e) {
        throw fromSystemError(`Cannot read keyring "${f}"`, e);
      }
    }
    const n = await importRemoteGpgKeys(
      Repo.open(ctx.repoPath()),
      name,
      sources,
      keyIds.length ? keyIds : null,
    );
    ctx.out.line(`Imported ${n} GPG key${n === 1 ? "" : "s"} to remote "${name}"`);
  },
};
