/**
 * Metalink remotes (`metalink=URL` in `remote add`, the `metalink` remote option), as ostree
 * 2022.7 uses them: the metalink XML (version 3, <http://www.metalinker.org/>) names the
 * repository's `summary` file with its size, its SHA-256 and/or SHA-512, and the URLs it can be
 * fetched from. Each URL is tried in document order until one serves exactly those bytes; the
 * directory of that URL is then the repository's URL for everything else.
 *
 * The metalink is the trust anchor for the summary: the bytes must match the declared size and
 * hash (SHA-512 when given, else SHA-256) or they are refused. Errors are ostree's words, e.g.
 * `Exhausted 3 metalink targets, last error: Expected checksum is … but actual is …`.
 *
 * Hostile metalinks are bounded: the document is capped by the caller, a declared size larger than
 * the cap is refused before any target is fetched, and at most {@link MAX_METALINK_TARGETS} targets
 * are tried (ostree tries every one; a list of thousands of dead hosts would take hours).
 *
 * Only the subset ostree reads is interpreted (metalink/files/file[name]/size, verification/hash
 * [type], resources/url[protocol]); other elements are skipped whatever their content. Parsing is
 * done by xml-events.ts (no DTDs or external entities).
 */

import { ArborError, isArborError } from "../errors.js";
import { crypto } from "../io/node-builtins.js";
import { parseXml } from "./xml-events.js";

/** Targets tried before giving up (the rest of a longer list is ignored). */
export const MAX_METALINK_TARGETS = 16;

/** What a metalink says about one file. */
export interface MetalinkFile {
  size: number;
  sha256: string | null;
  sha512: string | null;
  /** http(s) URLs in document order. */
  urls: string[];
}

type State =
  | "initial"
  | "metalink"
  | "files"
  | "file"
  | "size"
  | "verification"
  | "hash"
  | "resources"
  | "url";

/** The element that closes each state, and the state it returns to. */
const PARENT: Record<State, State> = {
  initial: "initial",
  metalink: "initial",
  files: "metalink",
  file: "files",
  size: "file",
  verification: "file",
  resources: "file",
  hash: "verification",
  url: "resources",
};

function fail(msg: string): never {
  throw new ArborError("OBJECT_CORRUPT", msg);
}

/**
 * Read the entry for `wanted` (e.g. "summary") from a metalink document.
 * @throws ArborError OBJECT_CORRUPT (malformed XML: `line L char C: …`; no usable entry, in
 *   ostree's words), NOT_FOUND (`No <file name='summary'> found`).
 */
export function parseMetalink(xml: string, wanted: string): MetalinkFile {
  let state: State = "initial";
  let skipDepth = 0; // >0: inside an element we skip, with its nesting
  let text = "";
  let foundFile = false;
  let foundOurs = false;
  let hashType: "sha256" | "sha512" | null = null;
  let knownHash = false;
  const out: MetalinkFile = { size: 0, sha256: null, sha512: null, urls: [] };

  parseXml(xml, {
    start(name, attrs) {
      if (skipDepth > 0) {
        skipDepth++;
        return;
      }
      text = "";
      const enter = (next: State | null): void => {
        if (next === null) skipDepth = 1;
        else state = next;
      };
      switch (state) {
        case "initial":
          return enter(name === "metalink" ? "metalink" : null);
        case "metalink":
          return enter(name === "files" ? "files" : null);
        case "files": {
          // once a usable <file> was read, later ones are ignored
          if (out.urls.length > 0 || name !== "file") return enter(null);
          const fileName = attrs.get("name");
          if (fileName === undefined) fail(`Element "file" has no "name" attribute`);
          foundFile = true;
          if (fileName !== wanted) return enter(null);
          foundOurs = true;
          return enter("file");
        }
        case "file":
          return enter(name === "size" || name === "verification" || name === "resources" ? name : null);
        case "verification": {
          if (name !== "hash") return enter(null);
          const t = attrs.get("type");
          if (t === undefined) fail(`Element "hash" has no "type" attribute`);
          hashType = t === "sha256" || t === "sha512" ? t : null;
          if (hashType) knownHash = true;
          return enter("hash");
        }
        case "resources": {
          if (out.size === 0) fail("No <size> element found or it is zero");
          if (!knownHash) fail("No <verification> element with known <hash type=> found");
          if (name !== "url") return enter(null);
          const protocol = attrs.get("protocol");
          return enter(protocol === "http" || protocol === "https" ? "url" : null);
        }
        default:
          return enter(null); // size, hash, url hold text only
      }
    },
    text(t) {
      if (skipDepth === 0) text += t;
    },
    end() {
      if (skipDepth > 0) {
        skipDepth--;
        return;
      }
      const value = text.trim();
      text = "";
      if (state === "size") {
        const n = /^[0-9]{1,15}$/.test(value) ? Number(value) : 0;
        out.size = n;
      } else if (state === "hash" && hashType) {
        out[hashType] = value.toLowerCase();
      } else if (state === "url") {
        if (/^https?:\/\//i.test(value) && URL.canParse(value)) out.urls.push(value);
      }
      state = PARENT[state];
    },
  });

  if (!foundFile) fail("No <file> element found");
  if (!foundOurs) throw new ArborError("NOT_FOUND", `No <file name='${wanted}'> found`);
  if (!out.sha256 && !out.sha512) fail("No <verification> hash for sha256 or sha512 found");
  if (out.sha256 !== null && !/^[0-9a-f]{64}$/.test(out.sha256)) fail("Invalid hash digest for sha256");
  if (out.sha512 !== null && !/^[0-9a-f]{128}$/.test(out.sha512)) fail("Invalid hash digest for sha512");
  if (out.urls.length === 0) fail("No <url method='http'> elements found");
  return out;
}

/**
 * Check fetched bytes against a metalink entry (size, then SHA-512 if given, else SHA-256).
 * @throws ArborError OBJECT_CORRUPT `Expected size is N bytes but content is M bytes`,
 *   `Expected checksum is X but actual is Y`.
 */
export function checkMetalinkTarget(f: MetalinkFile, data: Uint8Array): void {
  if (data.length !== f.size) fail(`Expected size is ${f.size} bytes but content is ${data.length} bytes`);
  const [algo, expected] = f.sha512 ? (["sha512", f.sha512] as const) : (["sha256", f.sha256!] as const);
  const actual = crypto().createHash(algo).update(data).digest("hex");
  if (actual !== expected) fail(`Expected checksum is ${expected} but actual is ${actual}`);
}

/** Fetches one absolute URL (capped at `maxBytes`); rejects on any failure. */
export type UrlGetter = (url: string, maxBytes: number) => Promise<Uint8Array>;

/** The summary a metalink led to, and the repository URL it came from. */
export interface MetalinkResult {
  data: Uint8Array;
  /** The target URL's directory: the repository's base URL. */
  baseUrl: string;
}

/**
 * Fetch `wanted` through the metalink at `url`: parse it, then try each target in order (at most
 * {@link MAX_METALINK_TARGETS}).
 * @throws ArborError OBJECT_CORRUPT / NOT_FOUND (see {@link parseMetalink}), NETWORK (the
 *   metalink itself), OBJECT_CORRUPT `Invalid metalink "URL": summary size N is larger than the
 *   limit of M bytes`, `Exhausted N metalink targets, last error: …`.
 */
export async function fetchViaMetalink(
  get: UrlGetter,
  url: string,
  wanted: string,
  maxBytes: number,
): Promise<MetalinkResult> {
  const bytes = await get(url, maxBytes);
  let xml: string;
  try {
    xml = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail(`Invalid metalink "${url}": not valid UTF-8`);
  }
  const f = parseMetalink(xml, wanted);
  if (f.size > maxBytes)
    fail(`Invalid metalink "${url}": ${wanted} size ${f.size} is larger than the limit of ${maxBytes} bytes`);
  const targets = f.urls.slice(0, MAX_METALINK_TARGETS);
  let last = "";
  for (const target of targets) {
    try {
      const data = await get(target, maxBytes);
      checkMetalinkTarget(f, data);
      const u = new URL(target);
      u.pathname = u.pathname.replace(/\/[^/]*$/, "") || "/";
      u.search = "";
      u.hash = "";
      return { data, baseUrl: u.toString() };
    } catch (e) {
      if (isArborError(e, "ABORTED")) throw e;
      last = e instanceof Error ? e.message : String(e);
    }
  }
  return fail(`Exhausted ${targets.length} metalink targets, last error: ${last}`);
}
