/**
 * Turning `commit` command-line options into CommitOptions (shared by `commit` and `compose`).
 */
import { readFileSync } from "node:fs";
import type { CommitOptions, TreeSource } from "../repo/commit.js";
import type { Repo } from "../repo/repo.js";
import type { VarDict } from "../core/metadata.js";
import { ArborError } from "../errors.js";
import { Variant } from "../gvariant/serialize.js";
import type { ParsedArgs } from "./command.js";
import type { Context } from "./context.js";
import { parseTime } from "./parse-time.js";

function keyValue(s: string, flag: string): [string, string] {
  const eq = s.indexOf("=");
  if (eq <= 0) throw new ArborError("USAGE", `Missing '=' in ${flag} argument "${s}"`);
  return [s.slice(0, eq), s.slice(eq + 1)];
}

function parseIntArg(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new ArborError("USAGE", `Invalid ${flag} "${v}"`);
  return Number(v);
}

/** Tree sources from positional PATH, --base and --tree=KIND=VALUE, in command-line order. */
export function parseTrees(args: ParsedArgs): TreeSource[] {
  const trees: TreeSource[] = [];
  const base = args.str("base");
  if (base) trees.push({ kind: "ref", rev: base });
  for (const t of args.list("tree")) {
    const eq = t.indexOf("=");
    const kind = eq > 0 ? t.slice(0, eq) : "";
    const value = t.slice(eq + 1);
    if (kind === "dir") trees.push({ kind: "dir", path: value });
    else if (kind === "tar") trees.push({ kind: "tar", path: value });
    else if (kind === "ref") trees.push({ kind: "ref", rev: value });
    else throw new ArborError("USAGE", `Invalid --tree argument "${t}": expected dir=PATH, tar=FILE or ref=REV`);
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
  if (!branch && !args.has("orphan")) throw ctx.usageError("A branch must be specified with --branch, or use --orphan");
  const ownerUid = parseIntArg(args.str("owner-uid"), "--owner-uid");
  const ownerGid = parseIntArg(args.str("owner-gid"), "--owner-gid");
  if (args.has("canonical-permissions") && ((ownerUid ?? 0) !== 0 || (ownerGid ?? 0) !== 0)) {
    throw new ArborError("USAGE", "Cannot specify both --canonical-permissions and non-zero --owner-uid");
  }
  const metadata: VarDict = [];
  for (const s of args.list("add-metadata-string")) {
    const [k, v] = keyValue(s, "--add-metadata-string");
    metadata.push([k, new Variant("s", v)]);
  }
  if (args.list("add-metadata").length) {
    const { parseVariantText } = await import("../gvariant/text.js");
    for (const s of args.list("add-metadata")) {
      const [k, v] = keyValue(s, "--add-metadata");
      const parsed = parseVariantText(v);
      metadata.push([k, new Variant(parsed.type, parsed.value)]);
    }
  }
  const detached: VarDict = args.list("add-detached-metadata-string").map((s) => {
    const [k, v] = keyValue(s, "--add-detached-metadata-string");
    return [k, new Variant("s", v)];
  });
  let body = args.str("body");
  const bodyFile = args.str("body-file");
  if (bodyFile) body = readFileSync(bodyFile, "utf8");
  const ts = args.str("timestamp");
  const skipListFile = args.str("skip-list");
  const soFile = args.str("statoverride");
  let statOverride: CommitOptions["statOverride"];
  if (soFile) {
    statOverride = new Map();
    for (const line of readFileSync(soFile, "utf8").split("\n")) {
      const m = /^([+=]?)([0-7]+)\s+(.+)$/.exec(line.trim());
      if (!line.trim()) continue;
      if (!m) throw new ArborError("USAGE", `Invalid --statoverride line "${line}"`);
      statOverride.set(m[3]!, { op: m[1] === "=" ? "set" : "add", mode: Number.parseInt(m[2]!, 8) });
    }
  }
  const fsync = args.str("fsync");
  if (fsync === "false" || fsync === "0" || args.has("disable-fsync")) repo.config.setBool("core", "fsync", false);
  const trees = parseTrees(args);
  return {
    trees,
    ...(branch ? { branch } : {}),
    orphan: args.has("orphan"),
    subject: args.str("subject") ?? "",
    body: body ?? "",
    ...(args.str("parent") ? { parent: args.str("parent") } : {}),
    ...(ts ? { timestamp: parseTime(ts) } : {}),
    metadata,
    keepMetadata: args.list("keep-metadata"),
    detachedMetadata: detached,
    bootable: args.has("bootable"),
    skipIfUnchanged: args.has("skip-if-unchanged"),
    noBindings: args.has("no-bindings"),
    bindRefs: args.list("bind-ref"),
    ...(ownerUid !== undefined ? { ownerUid } : {}),
    ...(ownerGid !== undefined ? { ownerGid } : {}),
    canonicalPermissions: args.has("canonical-permissions"),
    noXattrs: args.has("no-xattrs"),
    ...(skipListFile
      ? { skipList: new Set(readFileSync(skipListFile, "utf8").split("\n").map((l) => l.trim()).filter(Boolean)) }
      : {}),
    ...(statOverride ? { statOverride } : {}),
  };
}
