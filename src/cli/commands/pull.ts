/**
 * `pull REMOTE [REF…]` / `pull REMOTE:REF` (as `ostree pull`): fetch commits from a remote over
 * HTTP(S) or file://, verifying every object and the signatures the remote requires (content
 * objects excepted under `--mirror --http-trusted` into an archive repository, as ostree). Progress on
 * a terminal; at the end the line ostree prints
 * (`N metadata, N content objects fetched; N KiB transferred in N seconds; N content written`).
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "pull",
  summary: "Download data from remote repository",
  usage: "[OPTION…] REMOTE [BRANCH...]",
  repo: true,
  json: true,
  minArgs: 1,
  argsError: "REMOTE must be specified",
  options: [
    { long: "commit-metadata-only", help: "Fetch only the commit metadata" },
    { long: "cache-dir", arg: "DIR", help: "Use custom cache dir" },
    { long: "disable-fsync", help: "Do not invoke fsync()" },
    {
      long: "per-object-fsync",
      help: "Perform writes in such a way that avoids stalling concurrent processes",
    },
    { long: "disable-static-deltas", help: "Do not use static deltas" },
    { long: "require-static-deltas", help: "Require static deltas" },
    { long: "mirror", help: "Write refs suitable for a mirror and fetches all refs if none provided" },
    { long: "subpath", arg: "PATH", repeat: true, help: "Only pull the provided subpath(s)" },
    { long: "untrusted", help: "Verify checksums of local sources (always enabled for HTTP pulls)" },
    {
      long: "http-trusted",
      help: "Do not verify checksums of HTTP sources (mostly useful when mirroring)",
    },
    {
      long: "bareuseronly-files",
      help: "Reject regular files with mode outside of 0775 (world writable, suid, etc.)",
    },
    {
      long: "dry-run",
      help: "Only print information on what will be downloaded (requires static deltas)",
    },
    { long: "depth", arg: "DEPTH", help: "Traverse DEPTH parents (-1=infinite) (default: 0)" },
    { long: "url", arg: "URL", help: "Pull objects from this URL instead of the one from the remote config" },
    {
      long: "http-header",
      arg: "NAME=VALUE",
      repeat: true,
      help: "Add NAME=VALUE as HTTP header to all requests",
    },
    {
      long: "append-user-agent",
      arg: "NAME/VERSION",
      help: "Append string to user agent",
      hidden: true,
    },
    {
      long: "update-frequency",
      arg: "FREQUENCY",
      help: "Sets the update frequency, in milliseconds (0=1000ms) (default: 0)",
    },
    {
      long: "network-retries",
      arg: "N",
      help: "Specifies how many times each download should be retried upon error (default: 5)",
    },
    {
      long: "localcache-repo",
      short: "L",
      arg: "REPO",
      repeat: true,
      help: "Add REPO as local cache source for objects during this pull",
    },
    { long: "timestamp-check", short: "T", help: "Require fetched commits to have newer timestamps" },
    {
      long: "timestamp-check-from-rev",
      arg: "REV",
      help: "Require fetched commits to have newer timestamps than given rev",
    },
    { long: "disable-verify-bindings", help: "Do not verify commit bindings" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { ArborError } = await import("../../errors.js");
    const { resolve } = await import("node:path");
    const { pull } = await import("../../pull/pull.js");
    const { formatPullProgress, formatPullSummary } = await import("../../pull/progress.js");
    const [first, ...rest] = args.positional as [string, ...string[]];
    let remote = first;
    let refs = rest;
    const colon = first.indexOf(":");
    if (colon >= 0) {
      remote = first.slice(0, colon);
      refs = [first.slice(colon + 1)];
    }
    const headers: Array<[string, string]> = args.list("http-header").map((kv) => {
      const eq = kv.indexOf("=");
      if (eq < 0) throw new ArborError("USAGE", `Missing '=' in KEY=VALUE pair '${kv}'`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    });
    const repo = Repo.open(ctx.repoPath());
    const progress = ctx.progress({ intervalMs: args.int("update-frequency") || 100 });
    const depth = args.int("depth");
    const retries = args.int("network-retries");
    const result = await pull(repo, {
      remote,
      refs,
      ...(args.str("url") !== undefined ? { url: args.str("url") } : {}),
      ...(depth !== undefined ? { depth } : {}),
      ...(retries !== undefined ? { networkRetries: retries } : {}),
      commitMetadataOnly: args.has("commit-metadata-only"),
      mirror: args.has("mirror"),
      subpaths: args.list("subpath"),
      localcacheRepos: args.list("localcache-repo").map((p) => resolve(ctx.cwd, p)),
      timestampCheck: args.has("timestamp-check"),
      ...(args.str("timestamp-check-from-rev")
        ? { timestampCheckFromRev: args.str("timestamp-check-from-rev") }
        : {}),
      ...(args.str("cache-dir") ? { cacheDir: resolve(ctx.cwd, args.str("cache-dir")!) } : {}),
      dryRun: args.has("dry-run"),
      requireStaticDeltas: args.has("require-static-deltas"),
      disableStaticDeltas: args.has("disable-static-deltas"),
      httpHeaders: headers,
      ...(args.str("append-user-agent") ? { appendUserAgent: args.str("append-user-agent") } : {}),
      disableVerifyBindings: args.has("disable-verify-bindings"),
      bareUserOnlyFiles: args.has("bareuseronly-files"),
      httpTrusted: args.has("http-trusted"),
      disableFsync: args.has("disable-fsync"),
      untrusted: args.has("untrusted"),
      env: ctx.env,
      signal: ctx.signal,
      onProgress: (s) => progress.update(formatPullProgress(s)),
    });
    if (ctx.json) {
      progress.done();
      ctx.printJson("Pull", result);
      return;
    }
    if (result.dryRun) {
      progress.done();
      const d = result.deltas;
      if (d?.parts) {
        // static deltas: ostree's wording (src/pull/delta-pull.ts)
        const { formatSize } = await import("../../core/format-size.js");
        ctx.out.line(
          `Delta update: 0/${d.parts} parts, ${formatSize(0)}/${formatSize(d.size)}, ${formatSize(d.usize)} total uncompressed`,
        );
        return;
      }
      for (const r of result.refs)
        ctx.out.line(`${r.ref ?? r.commit}: ${r.previous ?? "(none)"} -> ${r.commit}`);
      return;
    }
    progress.done();
    ctx.out.line(formatPullSummary(result.stats, { local: result.local }));
  },
};
