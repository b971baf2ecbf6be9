/**
 * `arbor compose MANIFEST`: build a reproducible OS image commit from a manifest (docs/managed.md).
 * Prints the commit checksum on stdout (with `--dry-run`, the checksum it would have, writing
 * nothing); a one-line summary goes to stderr. `--json` prints the whole result.
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "compose",
  summary: "Build a reproducible commit from a manifest",
  usage: "[OPTION…] MANIFEST",
  repo: true,
  json: true,
  minArgs: 1,
  maxArgs: 1,
  argsError: "MANIFEST must be specified",
  options: [{ long: "dry-run", help: "Print the checksum the commit would have; write nothing" }],
  async run(ctx, args) {
    const { resolve } = await import("node:path");
    const { Repo } = await import("../../repo/repo.js");
    const { loadManifest } = await import("../../managed/manifest.js");
    const { composeImage } = await import("../../managed/compose.js");
    const manifest = loadManifest(resolve(ctx.cwd, args.positional[0]!), ctx.env);
    const repo = Repo.open(ctx.repoPath());
    const r = await composeImage(repo, manifest, {
      dryRun: args.has("dry-run"),
      signal: ctx.signal,
      onMessage: (l) => ctx.debug(l),
    });
    if (ctx.json) {
      ctx.printJson("ComposeResult", r);
      return;
    }
    ctx.out.write(`${r.commit}\n`);
    const dropped = r.dropped.length ? `, ${r.dropped.length} device nodes/fifos/sockets left out` : "";
    ctx.err.write(
      `${r.written ? "Composed" : "Would compose"} ${r.ref} ${r.version}: ${r.files} files, ${r.bytes} bytes${dropped}\n`,
    );
  },
};
