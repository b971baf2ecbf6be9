/**
 * Turning `commit` command-line options into CommitOptions (shared by `commit` and `compose`).
 */
import { readFileSync } from "node:fs";
import type { VarDict } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { Variant } from "../gvariant/serialize.js";
import type { CommitOptions, TreeSource } from "../repo/commit.js";
import type { Repo } from "../repo/repo.js";
import type { ParsedArgs } from "./command.js";
import type { Context } from "./context.js";
import { parseSourceDateEpoch, parseTime } from "./parse-time.js";

/** `KEY=VALUE` split at the first '=' (an empty KEY is checked later, as ostree); ostree's words. */
function keyValue(s: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq < 0) throw new ArborError("USAGE", `Missing '=' in KEY=VALUE metadata '${s}'`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

function parseIntArg(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ArborError("USAGE", `Invalid ${flag} "${v}"`);
  return Number(v);
}

/** The leading number of `s` the way C `strtod` reads it, truncated to an integer (0 if none). */
function leadingNumber(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? Number.parseInt(m[1]!, 10) | 0 : 0;
}

/**
 * Parse a `--statoverride` file as ostree does: each non-empty line is `MODE PATH` (MODE decimal,
 * OR-ed into the file's mode) or `=MODE PATH` (MODE replaces the permission bits); the path is
 * everything after the first space.
 * @throws ArborError USAGE "Malformed statoverride file (no space found)"
 * @example parseStatOverride("2048 /usr/bin/su\n") // Map { "/usr/bin/su" => { op: "add", mode: 0o4000 } }
 */
export function parseStatOverride(text: string): Map<string, { op: "add" | "set"; mode: number }> {
  const out = new Map<string, { op: "add" | "set"; mode: number }>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const spc = line.indexOf(" ");
    if (spc < 0) throw new ArborError("USAGE", "Malformed statoverride file (no space found)");
    const path = line.slice(spc + 1);
    if (line.startsWith("=")) out.set(path, { op: "set", mode: leadingNumber(line.slice(1)) >>> 0 });
    else out.set(path, { op: "add", mode: leadingNumber(line) >>> 0 });
  }
  return out;
}

/**
 * `--tar-pathname-filter=REGEX,REPLACEMENT`, split at the first comma (as ostree).
 * @throws ArborError USAGE without a comma or for an invalid regular expression.
 */
export function parsePathnameFilter(v: string): { regex: RegExp; replacement: string } {
  const comma = v.indexOf(",");
  if (comma < 0) throw new ArborError("USAGE", "Missing ',' in --tar-pathname-filter");
  const re = v.slice(0, comma);
  try {
    return { regex: new RegExp(re), replacement: v.slice(comma + 1) };
  } catch (e) {
    throw new ArborError(
      "USAGE",
      `--tar-pathname-filter: Error while compiling regular expression "${re}": ${(e as Error).message}`,
    );
  }
}

/** Tree sources from positional PATH, --base and --tree=KIND=VALUE, in command-line order. */
export function parseTrees(args: ParsedArgs): TreeSource[] {
  const trees: TreeSource[] = [];
  const filter = args.str("tar-pathname-filter");
  const tarOpts = {
    ...(filter !== undefined ? { pathnameFilter: parsePathnameFilter(filter) } : {}),
    autocreateParents: args.has("tar-autocreate-parents"),
  };
  const base = args.str("base");
  if (base) trees.push({ kind: "ref", rev: base, base: true });
  for (const t of args.list("tree")) {
    const eq = t.indexOf("=");
    const kind = eq > 0 ? t.slice(0, eq) : "";
    const value = t.slice(eq + 1);
    if (kind === "dir") trees.push({ kind: "dir", path: value });
    else if (kind === "tar") trees.push({ kind: "tar", path: value, ...tarOpts });
    else if (kind === "ref") trees.push({ kind: "ref", rev: value });
    else
      throw new ArborError("USAGE", `Invalid --tree argument "${t}": expected dir=PATH, tar=FILE or ref=REV`);
  }
  if (args.positional[0] !== undefined) {
    if (args.list("tree").length) throw new ArborError("USAGE", "Cannot specify a PATH and --tree");
    trees.push({ kind: "dir", path: args.positional[0] });
  }
  return trees;
}

/** @throws ArborError USAGE for inconsistent or malformed options. */
export async function parseCommitArgs(ctx: Context, args: ParsedArgs, repo: Repo): Promise<CommitOptions> {
  const branch = args.str("branch");
  if (!branch && !args.has("orphan"))
    throw ctx.usageError("A branch must be specified with --branch, or use --orphan");
  const ownerUid = parseIntArg(args.str("owner-uid"), "--owner-uid");
  const ownerGid = parseIntArg(args.str("owner-gid"), "--owner-gid");
  if (args.has("canonical-permissions") && ((ownerUid ?? 0) !== 0 || (ownerGid ?? 0) !== 0)) {
    throw new ArborError("USAGE", "Cannot specify both --canonical-permissions and non-zero --owner-uid");
  }
  const metadata: VarDict = [];
  for (const s of args.list("add-metadata-string")) {
    const [k, v] = keyValue(s);
    metadata.push([k, new Variant("s", v)]);
  }
  if (args.list("add-metadata").length) {
    const { parseVariantText } = await import("../gvariant/text.js");
    for (const s of args.list("add-metadata")) {
      const [k, v] = keyValue(s);
      let parsed: Variant;
      try {
        parsed = parseVariantText(v);
      } catch (e) {
        throw new ArborError("USAGE", `Parsing ${s}: ${(e as Error).message}`);
      }
      metadata.push([k, new Variant(parsed.type, parsed.value)]);
    }
  }
  // as ostree: commit metadata keys must not be empty (detached metadata keys may be)
  if (metadata.some(([k]) => k === "")) throw new ArborError("USAGE", "Empty metadata key");
  const detached: VarDict = args.list("add-detached-metadata-string").map((s) => {
    const [k, v] = keyValue(s);
    return [k, new Variant("s", v)];
  });
  let body = args.str("body");
  const bodyFile = args.str("body-file");
  if (bodyFile) body = readFileSync(bodyFile, "utf8");
  const ts = args.str("timestamp");
  // as ostree: --timestamp wins; else $SOURCE_DATE_EPOCH (reproducible builds); else now
  const sde = ctx.env.SOURCE_DATE_EPOCH;
  const timestamp =
    ts !== undefined ? parseTime(ts) : sde !== undefined ? parseSourceDateEpoch(sde) : undefined;
  const skipListFile = args.str("skip-list");
  const soFile = args.str("statoverride");
  let statOverride: CommitOptions["statOverride"];
  if (soFile) statOverride = parseStatOverride(readFileSync(soFile, "utf8"));
  const fsync = args.str("fsync");
  if (fsync === "false" || fsync === "0" || args.has("disable-fsync"))
    repo.config.setBool("core", "fsync", false);
  const trees = parseTrees(args);
  return {
    trees,
    ...(branch ? { branch } : {}),
    orphan: args.has("orphan"),
    consume: args.has("consume"),
    subject: args.str("subject") ?? "",
    body: body ?? "",
    ...(args.str("parent") ? { parent: args.str("parent") } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
    metadata,
    keepMetadata: args.list("keep-metadata"),
    detachedMetadata: detached,
    bootable: args.has("bootable"),
    skipIfUnchanged: args.has("skip-if-unchanged"),
    noBindings: args.has("no-bindings"),
    generateSizes: args.has("generate-sizes"),
    linkCheckoutSpeedup: args.has("link-checkout-speedup"),
    devinoCanonical: args.has("devino-canonical"),
    bindRefs: args.list("bind-ref"),
    ...(ownerUid !== undefined ? { ownerUid } : {}),
    ...(ownerGid !== undefined ? { ownerGid } : {}),
    canonicalPermissions: args.has("canonical-permissions"),
    noXattrs: args.has("no-xattrs"),
    modeRoExecutables: args.has("mode-ro-executables"),
    ...(skipListFile
      ? {
          skipList: new Set(
            readFileSync(skipListFile, "utf8")
              .split("\n")
              .map((l) => l.trim())
              .filter(Boolean),
          ),
        }
      : {}),
    ...(statOverride ? { statOverride } : {}),
  };
}
