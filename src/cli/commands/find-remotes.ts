/**
 * `find-remotes [--finders=config] [--pull [--mirror]] COLLECTION-ID REF [COLLECTION-ID REF…]`
 * (as `ostree find-remotes`, 2022.7): list the configured remotes that serve the given
 * collection–refs, each with the refs it has the newest commit for, in ostree's words and order;
 * with `--pull`, pull them from the best remotes. Only the `config` finder is implemented:
 * `--finders=mount` and `--finders=lan` are refused.
 */
import type { CommandSpec } from "../command.js";
import { usageError } from "../exit.js";

/** ostree's `%FT%TZ` of a time in seconds (UTC). */
function iso8601(secs: number): string {
  const d = new Date(secs * 1000);
  return Number.isNaN(d.getTime()) ? "invalid" : d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

export const command: CommandSpec = {
  name: "find-remotes",
  summary: "Find remotes to serve the given refs",
  usage: "[OPTION…] COLLECTION-ID REF [COLLECTION-ID REF...]",
  repo: true,
  json: true,
  options: [
    { long: "cache-dir", arg: "DIR", help: "Use custom cache dir" },
    { long: "disable-fsync", help: "Do not invoke fsync()" },
    {
      long: "finders",
      arg: "FINDERS",
      help: "Use the specified comma separated list of finders (only config is implemented; lan and mount are refused)",
    },
    { long: "pull", help: "Pull the updates after finding them" },
    { long: "mirror", help: "Do a mirror pull (see ostree pull --mirror)" },
  ],
  async run(ctx, args) {
    const pos = args.positional;
    if (pos.length < 2) throw usageError("At least one COLLECTION-ID REF pair must be specified", "help-gap");
    if (pos.length % 2 !== 0)
      throw usageError("Only complete COLLECTION-ID REF pairs may be specified", "help-gap");
    if (args.has("mirror") && !args.has("pull"))
      throw usageError("When --mirror is specified, --pull must also be", "help-gap");
    const { resolve } = await import("node:path");
    const { ArborError, isArborError } = await import("../../errors.js");
    const { isRef } = await import("../../core/validate.js");
    const { isCollectionId } = await import("../../repo/ref-listing.js");
    const { checkFinders, findRemotes } = await import("../../pull/find-remotes.js");
    const { Repo } = await import("../../repo/repo.js");
    const refs: Array<{ collectionId: string; ref: string }> = [];
    for (let i = 0; i < pos.length; i += 2) {
      const [collectionId, ref] = [pos[i]!, pos[i + 1]!];
      if (!isCollectionId(collectionId))
        throw new ArborError("BAD_NAME", `Invalid collection ID ${collectionId}`);
      if (!isRef(ref)) throw new ArborError("BAD_REF", `Invalid ref name ${ref}`);
      refs.push({ collectionId, ref });
    }
    let finders: string[] | undefined;
    if (args.str("finders") !== undefined) {
      finders = args.str("finders")!.split(",");
      try {
        checkFinders(finders);
      } catch (e) {
        if (isArborError(e, "USAGE")) throw usageError(e.message, "help-gap");
        throw e;
      }
    }
    const repo = Repo.open(ctx.repoPath());
    const cacheDir =
      args.str("cache-dir") !== undefined ? resolve(ctx.cwd, args.str("cache-dir")!) : undefined;
    const results = await findRemotes(repo, refs, {
      ...(finders ? { finders } : {}),
      ...(cacheDir ? { cacheDir } : {}),
      env: ctx.env,
      signal: ctx.signal,
      // ostree says nothing (a debug message); the exit status stays 0 as in ostree
      onIgnored: (remote, e) =>
        ctx.err.line(`warning: Ignoring remote "${remote}": ${e instanceof Error ? e.message : String(e)}`),
    });
    const key = (r: { collectionId: string; ref: string }): string => `${r.collectionId}\u0000${r.ref}`;
    const found = new Set(results.flatMap((r) => r.refs.filter((x) => x.checksum !== null).map(key)));
    const notFound = refs.filter((r) => !found.has(key(r)));
    const lines: string[] = [];
    results.forEach((r, i) => {
      lines.push(
        `Result ${i}: ${r.url}`,
        ` - Finder: ${r.finder}`,
        ` - Keyring: ${r.keyring}`,
        ` - Priority: ${r.priority}`,
        ` - Summary last modified: ${r.summaryLastModified > 0 ? iso8601(r.summaryLastModified) : "unknown"}`,
        " - Refs:",
        ...r.refs.map((x) => `    - (${x.collectionId}, ${x.ref}) = ${x.checksum ?? "(not found)"}`),
        "",
      );
    });
    if (results.length === 0) {
      if (ctx.json) ctx.printJson("FindRemotes", { results, notFound });
      else ctx.out.line("No results.");
      return;
    }
    lines.push(`${found.size}/${refs.length} refs were found.`);
    if (notFound.length) {
      lines.push("Refs not found in any remote:");
      for (const r of notFound) lines.push(` - (${r.collectionId}, ${r.ref})`);
    }
    if (!ctx.json) for (const l of lines) ctx.out.line(l);
    if (!args.has("pull")) {
      if (ctx.json) ctx.printJson("FindRemotes", { results, notFound });
      return;
    }
    const { pullFromRemotes } = await import("../../pull/pull-from-remotes.js");
    const pulled = await pullFromRemotes(repo, results, {
      mirror: args.has("mirror"),
      disableFsync: args.has("disable-fsync"),
      ...(cacheDir ? { cacheDir } : {}),
      env: ctx.env,
      signal: ctx.signal,
    });
    if (ctx.json) ctx.printJson("FindRemotes", { results, notFound, pulled: pulled.refs });
    else ctx.out.line(`Pulled ${refs.length}/${refs.length} refs successfully.`);
  },
};
