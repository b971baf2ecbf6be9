/**
 * Static delta names (fact sheet §6.1). On disk a checksum is written in "modified base64": the
 * standard alphabet with `/` → `_` and the single trailing `=` dropped (43 characters; `+` kept).
 * A from-scratch delta lives in `deltas/T2/Trest/`, one between commits in `deltas/F2/Frest-T/`.
 * In the summary, delta indexes and the CLI a delta is named in hex: `TO` or `FROM-TO`.
 */
import { ArborError } from "../errors.js";

const HEX64 = /^[0-9a-f]{64}$/;
const MB64 = /^[A-Za-z0-9+_]{43}$/;

/** Modified base64 of a hex checksum. @throws ArborError BAD_CHECKSUM */
export function checksumToMb64(hex: string): string {
  if (!HEX64.test(hex)) throw new ArborError("BAD_CHECKSUM", `Invalid checksum "${hex}"`);
  return Buffer.from(hex, "hex").toString("base64").replace(/=+$/, "").replace(/\//g, "_");
}

/** Hex checksum of a modified-base64 one, or null if it is not one. */
export function mb64ToChecksum(s: string): string | null {
  if (!MB64.test(s)) return null;
  const b = Buffer.from(`${s.replace(/_/g, "/")}=`, "base64");
  if (b.length !== 32) return null;
  const hex = b.toString("hex");
  // reject non-canonical spellings (trailing bits set in the last character)
  return checksumToMb64(hex) === s ? hex : null;
}

/** A delta's endpoints; `from` null = from scratch. */
export interface DeltaEndpoints {
  from: string | null;
  to: string;
}

/** The hex name ostree prints and puts in the summary: `TO` or `FROM-TO`. */
export function deltaName(d: DeltaEndpoints): string {
  return d.from ? `${d.from}-${d.to}` : d.to;
}

/**
 * Parse a hex delta name (`TO` or `FROM-TO`).
 * @throws ArborError BAD_NAME when it is neither.
 */
export function parseDeltaName(name: string): DeltaEndpoints {
  const dash = name.indexOf("-");
  const from = dash < 0 ? null : name.slice(0, dash);
  const to = dash < 0 ? name : name.slice(dash + 1);
  if (!HEX64.test(to) || (from !== null && !HEX64.test(from)))
    throw new ArborError("BAD_NAME", `Invalid static delta name "${name}"`);
  return { from, to };
}

/** `deltas/XX/REST` (relative to the repository) for a delta. @throws ArborError BAD_CHECKSUM */
export function deltaDir(d: DeltaEndpoints): string {
  const t = checksumToMb64(d.to);
  if (!d.from) return `deltas/${t.slice(0, 2)}/${t.slice(2)}`;
  const f = checksumToMb64(d.from);
  return `deltas/${f.slice(0, 2)}/${f.slice(2)}-${t}`;
}

/** The delta a `deltas/` directory (two-character prefix + rest) names, or null. */
export function deltaFromDirName(prefix: string, rest: string): DeltaEndpoints | null {
  if (prefix.length !== 2) return null;
  const name = prefix + rest;
  const dash = name.indexOf("-");
  if (dash < 0) {
    const to = mb64ToChecksum(name);
    return to ? { from: null, to } : null;
  }
  const from = mb64ToChecksum(name.slice(0, dash));
  const to = mb64ToChecksum(name.slice(dash + 1));
  return from && to ? { from, to } : null;
}

/** `delta-indexes/XX/REST.index` for the deltas to `to`. @throws ArborError BAD_CHECKSUM */
export function deltaIndexPath(to: string): string {
  const t = checksumToMb64(to);
  return `delta-indexes/${t.slice(0, 2)}/${t.slice(2)}.index`;
}

/** Superblock metadata key of an inline part (`generate --inline`): `deltas/XX/REST/N`, value `(yay)`. */
export function inlinePartKey(d: DeltaEndpoints, index: number): string {
  return `${deltaDir(d)}/${index}`;
}

/** Superblock metadata key of the to-commit's detached metadata: `deltas/XX/REST/commitmeta`. */
export function commitmetaKey(d: DeltaEndpoints): string {
  return `${deltaDir(d)}/commitmeta`;
}
