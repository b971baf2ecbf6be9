/**
 * `remote add NAME URL [BRANCH…]` (as `ostree remote add`): writes `[remote "NAME"]` with the
 * same keys in the same order as ostree, so either tool reads the other's remotes. With
 * `--custom-backend` the URL may be left out (pull then refuses the remote, naming the backend).
 */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote add",
  summary: "Add a remote repository",
  usage: "[OPTION…] NAME [metalink=|mirrorlist=]URL [BRANCH...]",
  repo: true,
  minArgs: 1,
  argsError: "NAME and URL must be specified",
  options: [
    { long: "set", arg: "KEY=VALUE", repeat: true, help: "Set config option KEY=VALUE for remote" },
    { long: "no-gpg-verify", help: "Disable GPG verification" },
    { long: "no-sign-verify", help: "Disable signature verification" },
    {
      long: "sign-verify",
      arg: "KEYTYPE=[inline|file]:PUBKEY",
      repeat: true,
      help: "Verify signatures using KEYTYPE=inline:PUBKEY or KEYTYPE=file:/path/to/key",
    },
    { long: "if-not-exists", help: "Do nothing if the provided remote exists" },
    { long: "force", help: "Replace the provided remote if it exists" },
    { long: "gpg-import", arg: "FILE", help: "Import GPG key from FILE" },
    { long: "custom-backend", arg: "NAME", help: "This remote has content not fetched via libostree" },
    { long: "contenturl", arg: "URL", help: "Use URL when fetching content" },
    {
      long: "collection-id",
      arg: "COLLECTION-ID",
      help: "Globally unique ID for this repository as an collection of refs for redistribution to other repositories",
    },
    { long: "sysroot", arg: "PATH", help: "Use sysroot at PATH (overrides --repo)" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { addRemote, parseSignVerifySpec } = await import("../../../repo/remotes.js");
    const { ArborError } = await import("../../../errors.js");
    if (args.has("if-not-exists") && args.has("force")) {
      throw ctx.usageError("Can only specify one of --if-not-exists and --force");
    }
    // A remote with a custom backend (content not fetched by libostree) may have no URL.
    if (args.positional.length < 2 && args.str("custom-backend") === undefined)
      throw ctx.usageError("NAME and URL must be specified");
    const [name, url, ...branches] = args.positional as [string, string | undefined, ...string[]];
    // --sysroot=PATH: PATH/ostree/repo; a deployment root keeps its remotes in PATH/etc/ostree/remotes.d
    const sysroot = args.str("sysroot");
    const loc =
      sysroot === undefined
        ? null
        : (await import("../../../sysroot/remotes-location.js")).sysrootRemotesLocation(sysroot);
    const repo = Repo.open(loc ? loc.repoPath : ctx.repoPath());
    const options: Array<[string, string | boolean | string[]]> = [];
    if (branches.length) options.push(["branches", branches]);
    const contenturl = args.str("contenturl");
    if (contenturl !== undefined) options.push(["contenturl", contenturl]);
    const backend = args.str("custom-backend");
    if (backend !== undefined) options.push(["custom-backend", backend]);
    for (const kv of args.list("set")) {
      const eq = kv.indexOf("=");
      if (eq < 0) throw new ArborError("USAGE", `Missing '=' in KEY=VALUE pair '${kv}'`);
      options.push([kv.slice(0, eq), kv.slice(eq + 1)]);
    }
    // No signature verification implies no GPG verification either (as ostree).
    if (args.has("no-gpg-verify") || args.has("no-sign-verify")) options.push(["gpg-verify", false]);
    const specs = args.list("sign-verify");
    if (args.has("no-sign-verify")) {
      if (specs.length)
        throw new ArborError("USAGE", "Cannot specify both --sign-verify and --no-sign-verify");
      options.push(["sign-verify", false]);
    }
    const types: string[] = [];
    for (const spec of specs) {
      const { type, option } = parseSignVerifySpec(spec);
      options.push(option);
      types.push(type);
    }
    if (types.length) options.push(["sign-verify", types.join(",")]);
    const cid = args.str("collection-id");
    if (cid !== undefined) options.push(["collection-id", cid]);
    addRemote(repo, {
      name,
      url: url ?? null,
      options,
      mode: args.has("if-not-exists") ? "if-not-exists" : args.has("force") ? "replace" : "add",
      ...(loc ? { remotesDir: loc.remotesDir } : {}),
    });
    const file = args.str("gpg-import");
    if (file !== undefined) {
      const { readFileSync } = await import("node:fs");
      const { resolve } = await import("node:path");
      const { importRemoteGpgKeys } = await import("../../../sign/gpg-import.js");
      const n = await importRemoteGpgKeys(repo, name, [readFileSync(resolve(ctx.cwd, file))], null);
      ctx.out.line(`Imported ${n} GPG key${n === 1 ? "" : "s"} to remote "${name}"`);
    }
  },
};
