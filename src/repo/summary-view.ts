/**
 * The text `ostree summary --view` / `ostree remote summary` print for a summary: each ref with
 * its commit size, checksum and metadata, then the repository metadata with friendly names
 * (`Last-Modified (ostree.summary.last-modified): 2024-01-01T00:00:00+00`); and `--raw`, the
 * whole variant byte-swapped and printed as GLib prints it (ostree byte-swaps before printing
 * on little-endian hosts, so its big-endian fields read right and the little-endian commit size
 * reads wrong — as in ostree).
 */

import { formatSize } from "../core/format-size.js";
import type { VarDict } from "../core/metadata.js";
import { bswap64, SUMMARY } from "../gvariant/formats.js";
import { deserialize, type Variant } from "../gvariant/index.js";
import { byteswapValue, printVariant } from "../gvariant/text.js";
import { decodeSummary, type SummaryRef, summaryCollectionMap } from "./summary.js";

/** GLib `%FT%T%:::z` in local time: `2024-01-01T00:00:00+00` (`+05:30` when minutes). */
export function formatIso8601Local(secs: number): string {
  const d = new Date(secs * 1000);
  const p2 = (n: number): string => String(n).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  const tz = `${sign}${p2(Math.floor(a / 60))}${a % 60 ? `:${p2(a % 60)}` : ""}`;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}${tz}`;
}

function tsString(v: Variant): string {
  return formatIso8601Local(Number(bswap64(v.value as bigint)));
}

function refLines(collection: string | null, r: SummaryRef): string {
  let s = collection === null ? `* ${r.ref}\n` : `* (${collection}, ${r.ref})\n`;
  s += `    Latest Commit (${formatSize(r.commitSize)}):\n      ${r.checksum}\n`;
  for (const [k, v] of r.metadata) {
    if (k === "ostree.commit.timestamp" && v.type === "t") s += `    Timestamp (${k}): ${tsString(v)}\n`;
    else if (k === "ostree.commit.version" && v.type === "s")
      s += `    Version (${k}): ${v.value as string}\n`;
    else s += `    ${k}: ${printVariant(v.type, v.value, { annotate: false })}\n`;
  }
  return `${s}\n`;
}

const MODES = new Set(["bare", "bare-user", "bare-user-only", "archive", "archive-z2", "bare-split-xattrs"]);

function metadataLine(k: string, v: Variant): string {
  const plain = (): string => printVariant(v.type, v.value, { annotate: false });
  switch (k) {
    case "ostree.static-deltas":
      return `Static Deltas (${k}): ${plain()}`;
    case "ostree.summary.last-modified":
      return `Last-Modified (${k}): ${tsString(v)}`;
    case "ostree.summary.expires":
      return `Expires (${k}): ${tsString(v)}`;
    case "ostree.summary.collection-id":
      return `Collection ID (${k}): ${v.value as string}`;
    case "ostree.summary.collection-map":
      return `Collection Map (${k}): (printed above)`;
    case "ostree.summary.mode": {
      const m = v.value as string;
      return `Repository Mode (${k}): ${MODES.has(m) ? m : `Invalid (‘${m}’)`}`;
    }
    case "ostree.summary.tombstone-commits":
      return `Has Tombstone Commits (${k}): ${v.value ? "Yes" : "No"}`;
    default:
      return `${k}: ${plain()}`;
  }
}

/**
 * The `summary --view` text for summary bytes (or, with `raw`, the `--raw` text).
 * @throws ArborError OBJECT_CORRUPT for bytes that are not a summary.
 */
export function formatSummaryView(bytes: Uint8Array, opts: { raw?: boolean } = {}): string {
  if (opts.raw) {
    const v = deserialize(SUMMARY, bytes);
    return `${printVariant(SUMMARY, byteswapValue(SUMMARY, v))}\n`;
  }
  const s = decodeSummary(bytes);
  const meta: VarDict = s.metadata;
  const cidV = meta.find(([k]) => k === "ostree.summary.collection-id")?.[1];
  const main = cidV && cidV.type === "s" ? (cidV.value as string) : null;
  let out = "";
  for (const r of s.refs) out += refLines(main, r);
  for (const [cid, refs] of summaryCollectionMap(s)) for (const r of refs) out += refLines(cid, r);
  for (const [k, v] of meta) out += `${metadataLine(k, v)}\n`;
  return out;
}

/** Sorted metadata keys (`summary --list-metadata-keys`). */
export function summaryMetadataKeys(bytes: Uint8Array): string[] {
  return decodeSummary(bytes)
    .metadata.map(([k]) => k)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
