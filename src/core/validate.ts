/**
 * Validation of names read from disk, the network or the command line: checksums, refs,
 * remote names, file names. Everything untrusted passes through here before it is used as a path.
 */
import { ArborError } from "../errors.js";

const HEX64 = /^[0-9a-f]{64}$/;
// OSTree: OSTREE_REF_FRAGMENT_REGEXP "[\w\d][-._\w\d]*", fragments joined by "/". GLib's regex
// engine runs PCRE2 in UCP mode, so \w is any Unicode letter or number or "_" (`ostree refs
// --create` accepts "é", "日本", "٣", "²"; it rejects combining marks and "‿")
// Built on first use, from a string: V8 parses a regex literal's Unicode classes when it loads
// the module, which costs milliseconds on every start-up, and nearly every ref is ASCII.
let refFragment: RegExp | undefined;
// The same rule for ASCII-only names, checked first.
const REF_FRAGMENT_ASCII = /^[A-Za-z0-9_][-.A-Za-z0-9_]*$/;

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** True if `f` is one ref fragment (`OSTREE_REF_FRAGMENT_REGEXP`; also ostree's remote-name rule). */
export function isRefFragment(f: string): boolean {
  if (isAscii(f)) return REF_FRAGMENT_ASCII.test(f);
  // biome-ignore lint/complexity/useRegexLiterals: a literal is parsed (Unicode tables built) at load
  refFragment ??= new RegExp("^[\\p{L}\\p{N}_][-.\\p{L}\\p{N}_]*$", "u");
  return refFragment.test(f);
}

/** True if `s` is a full lower-case hex SHA-256. */
export function isChecksum(s: string): boolean {
  return HEX64.test(s);
}

/** @throws ArborError BAD_CHECKSUM */
export function validateChecksum(s: string): string {
  if (!HEX64.test(s))
    throw new ArborError("BAD_CHECKSUM", `Invalid checksum "${shorten(s)}": expected 64 hex characters`);
  return s;
}

/** True if `s` is a valid ref name (fragments joined by "/"). */
export function isRef(s: string): boolean {
  if (s.length === 0 || s.length > 4096) return false;
  for (const f of s.split("/")) if (!isRefFragment(f)) return false;
  return true;
}

/** @throws ArborError BAD_REF naming the offending ref. */
export function validateRef(s: string): string {
  if (!isRef(s)) throw new ArborError("BAD_REF", `Invalid ref name "${shorten(s)}"`);
  return s;
}

/** @throws ArborError BAD_NAME for an invalid remote name. */
export function validateRemoteName(s: string): string {
  if (!isRefFragment(s)) throw new ArborError("BAD_NAME", `Invalid remote name "${shorten(s)}"`);
  return s;
}

/** A refspec `[REMOTE:]REF`. */
export interface Refspec {
  remote: string | null;
  ref: string;
}

/** @throws ArborError BAD_REF */
export function parseRefspec(s: string): Refspec {
  const i = s.indexOf(":");
  if (i < 0) return { remote: null, ref: validateRef(s) };
  const remote = s.slice(0, i);
  const ref = s.slice(i + 1);
  if (!isRefFragment(remote))
    throw new ArborError("BAD_REF", `Invalid remote name in refspec "${shorten(s)}"`);
  return { remote, ref: validateRef(ref) };
}

/**
 * Why `name` may not be a dirtree entry, in ostree's words (`Invalid / in filename NAME`…), or
 * null when it may.
 */
export function filenameProblem(name: string): string | null {
  if (name.length === 0) return "Invalid empty filename";
  if (name === ".") return "Invalid self-referential filename '.'";
  if (name === "..") return "Invalid path uplink filename '..'";
  if (name.includes("/")) return `Invalid / in filename ${name}`;
  if (name.includes("\0")) return `Invalid NUL in filename ${JSON.stringify(name)}`;
  return null;
}

/** True if `name` may be a dirtree entry: non-empty, not `.`/`..`, no `/` or NUL. */
export function isValidFilename(name: string): boolean {
  return name.length > 0 && name !== "." && name !== ".." && !name.includes("/") && !name.includes("\0");
}

/** @throws ArborError BAD_NAME */
export function validateFilename(name: string): string {
  if (!isValidFilename(name)) throw new ArborError("BAD_NAME", `Invalid file name "${shorten(name)}"`);
  return name;
}

function shorten(s: string): string {
  const clean = JSON.stringify(s).slice(1, -1);
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}
