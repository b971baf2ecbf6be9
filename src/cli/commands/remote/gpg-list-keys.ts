/**
 * `remote gpg-list-keys [NAME]` (as `ostree remote gpg-list-keys`): the keys in a remote's keyring,
 * or with no NAME the global keyrings ($OSTREE_GPG_HOME or /usr/share/ostree/trusted.gpg.d).
 */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote gpg-list-keys",
  summary: "Show remote GPG keys",
  usage: "[OPTION…] [NAME]",
  repo: true,
  maxArgs: 1,
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { describeGpgKeys, listRemoteGpgKeys } = await import("../../../sign/gpg-import.js");
    const repo = Repo.open(ctx.repoPath());
    const name = args.positional[0];
    let keys: Awaited<ReturnType<typeof listRemoteGpgKeys>>;
    if (name !== undefined) keys = await listRemoteGpgKeys(repo, name);
    else {
      const { globalKeyringDirs, keyringsInDir } = await import("../../../sign/gpg-keyrings.js");
      const { parseKeyrings } = await import("../../../sign/gpg-verify.js");
      keys = (await parseKeyrings(globalKeyringDirs(ctx.env).flatMap((d) => keyringsInDir(d)))).keys;
    }
    ctx.out.write(await describeGpgKeys(keys));
  },
};
