/**
 * Human formatting of commits, shared by `log` and `show`, exactly as ostree prints them.
 */
import type { Commit } from "../core/metadata.js";
import { contentChecksum, lookup } from "../core/metadata.js";

/** `YYYY-MM-DD HH:MM:SS +0000` in UTC, as ostree prints commit dates. */
export function formatDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Each line indented by 4 spaces, as ostree's dump_indented_lines (no line for a trailing "\n"). */
function indent(text: string): string {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => `    ${l}`).join("\n");
}

/** The block `ostree log`/`ostree show` print for one commit (ends with a blank line). */
export function formatCommit(checksum: string, c: Commit): string {
  const lines = [`commit ${checksum}`];
  if (c.parent) lines.push(`Parent:  ${c.parent}`);
  lines.push(`ContentChecksum:  ${contentChecksum(c)}`);
  lines.push(`Date:  ${formatDate(c.timestamp)}`);
  const version = lookup(c.metadata, "version");
  if (version && version.type === "s") lines.push(`Version: ${version.value as string}`);
  let out = `${lines.join("\n")}\n`;
  if (c.subject) out += `\n${indent(c.subject)}\n`;
  else out += "(no subject)\n";
  if (c.body) out += `\n${indent(c.body)}\n`;
  return `${out}\n`;
}

/** JSON shape of a commit for `--json` (see README "JSON output"). */
export function commitJson(checksum: string, c: Commit): Record<string, unknown> {
  return {
    checksum,
    parent: c.parent,
    subject: c.subject,
    body: c.body,
    timestamp: c.timestamp,
    date: new Date(c.timestamp * 1000).toISOString(),
    contentChecksum: contentChecksum(c),
    rootTree: c.rootTree,
    rootMeta: c.rootMeta,
    version: (lookup(c.metadata, "version")?.value as string | undefined) ?? null,
    metadataKeys: c.metadata.map(([k]) => k),
  };
}
