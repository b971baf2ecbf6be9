/**
 * `arbor pull-local SRC_REPO [REF…]`: copy refs and their objects from a repository on this
 * machine (as `ostree pull-local`). Objects are hard-linked when both repositories use the same
 * format on the same filesystem. Trust follows ostree: a local source is trusted, so objects are
 * stored under their names without re-hashing (metadata and content headers are still decoded);
 * `--untrusted` re-hashes every object before it is linked or written.
 * Prints ostree's summary line: `N metadata, M content objects imported; S content written`.
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "pull-local",
  summary: "Copy data from SRC_REPO",
  usage: "[OPTION…] SRC_REPO [REFS...]",
  repo: true,
  json: true,
  minArgs: 1,
  argsError: "DESTINATION must be specified",
  options: [
    { long: "commit-metadata-only", help: "Fetch only the commit metadata" },
    { long: "remote", arg: "REMOTE", help: "Add REMOTE to refspec" },
    { long: "disable-fsync", help: "Do not invoke fsync()" },
    {
      long: "per-object-fsync",
      help: "Perform writes in such a way that avoids stalling concurrent processes (accepted; no effect)",
    },
    { long: "untrusted", help: "Verify checksums of local sources (always enabled for HTTP pulls)" },
    {
      long: "bareuseronly-files",
      help: "Reject regular files with mode outside of 0775 (world writable, suid, etc.)",
    },
    {
      long: "require-static-deltas",
      help: "Require static deltas",
    },
    {
      long: "gpg-verify",
      help: "GPG verify commits (must specify --remote)",
      ignoresValue: true,
    },
    {
      long: "gpg-verify-summary",
      help: "GPG verify summary (must specify --remote)",
      ignoresValue: true,
    },
    { long: "disable-verify-bindings", help: "Do not verify commit bindings" },
    { long: "depth", arg: "DEPTH", help: "Traverse DEPTH parents (-1=infinite) (default: 0)" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { pullLocal } = await import("../../repo/pull-local.js");
    const { formatSize } = await import("../../core/format-size.js");
    const { resolve } = await import("node:path");
    const dst = Repo.open(ctx.repoPath());
    const [srcArg, ...refs] = args.positional as [string, ...string[]];
    const src = Repo.open(resolve(ctx.cwd, srcArg));
    if (args.has("require-static-deltas")) {
      // static deltas (src/pull/delta-local.ts): applied first; the pull below copies the rest
      const { applyLocalDeltas } = await import("../../pull/delta-local.js");
      await applyLocalDeltas(src, dst, refs.length ? refs : undefined, {
        remote: args.str("remote"),
        signal: ctx.signal,
      });
    }
    const progress = ctx.progress();
    const remote = args.str("remote");
    const result = await pullLocal(src, dst, {
      ...(refs.length ? { refs } : {}),
      ...(remote !== undefined ? { remote } : {}),
      depth: args.int("depth") ?? 0,
      untrusted: args.has("untrusted"),
      commitMetadataOnly: args.has("commit-metadata-only"),
      bareUserOnlyFiles: args.has("bareuseronly-files"),
      disableVerifyBindings: args.has("disable-verify-bindings"),
      disableFsync: args.has("disable-fsync"),
      gpgVerify: args.has("gpg-verify"),
      gpgVerifySummary: args.has("gpg-verify-summary"),
      signal: ctx.signal,
      onProgress: (p) => {
        if (p.phase === "metadata") progress.update(`Scanning metadata: ${p.metadataScanned}`);
        else {
          const pct = p.contentTotal ? Math.floor((100 * p.contentDone) / p.contentTotal) : 100;
          const bytes = formatSize(p.bytesWritten);
          progress.update(`Receiving objects: ${pct}% (${p.contentDone}/${p.contentTotal}) ${bytes}`);
        }
      },
    });
    progress.done();
    if (ctx.json) {
      ctx.printJson("PullLocal", result);
      return;
    }
    const written = formatSize(result.contentBytesWritten);
    ctx.out.line(
      `${result.metadataImported} metadata, ${result.contentImported} content objects imported; ${written} content written`,
    );
  },
};
