/**
 * Mirror lists (`mirrorlist=URL` as a remote's `url` or `contenturl`), as ostree 2022.7 reads
 * them: a text file with one repository URL per line; empty lines and lines starting with `#` are
 * skipped, and so are lines that are not http(s) URLs (local mirrors are not supported). Mirrors
 * are probed in order until one serves its `config` (so a dead first entry does not slow every
 * request); that one and every later entry make the list. Requests then go to the mirrors in
 * order, the next one being tried when a mirror answers with an HTTP error (fetcher-mirrored.ts).
 *
 * Hostile lists are bounded: the file is capped at {@link MAX_MIRRORLIST_SIZE}, at most
 * {@link MAX_PROBES} mirrors are probed and {@link MAX_MIRRORS} kept.
 */
import { ArborError, isArborError } from "../errors.js";
import { MAX_REMOTE_CONFIG_SIZE } from "./fetcher.js";
import type { UrlGetter } from "./metalink.js";

/** Largest mirror list read (ostree caps metadata at 10 MiB). */
export const MAX_MIRRORLIST_SIZE = 10 * 1024 * 1024;
/** Mirrors whose `config` is tried before giving up. */
export const MAX_PROBES = 16;
/** Mirrors kept from one list. */
export const MAX_MIRRORS = 256;

/** The http(s) URLs of a mirror list, in order (no probing). */
export function parseMirrorlist(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    if (!/^https?:\/\//i.test(line) || !URL.canParse(line)) continue;
    out.push(line);
  }
  return out;
}

/**
 * Fetch a mirror list and keep the mirrors from the first one that works.
 * @throws ArborError NETWORK / NOT_FOUND `While fetching mirrorlist 'URL': …`, BAD_CONFIG
 *   `No valid mirrors were found in mirrorlist 'URL'` (or not UTF-8).
 */
export async function resolveMirrorlist(get: UrlGetter, url: string): Promise<string[]> {
  let bytes: Uint8Array;
  try {
    bytes = await get(url, MAX_MIRRORLIST_SIZE);
  } catch (e) {
    if (!isArborError(e) || e.code === "ABORTED") throw e;
    throw new ArborError(e.code, `While fetching mirrorlist '${url}': ${e.message}`, { cause: e });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ArborError("BAD_CONFIG", `Invalid mirrorlist '${url}': not valid UTF-8`);
  }
  const candidates = parseMirrorlist(text);
  let probes = 0;
  for (let i = 0; i < candidates.length && probes < MAX_PROBES; i++) {
    probes++;
    try {
      await get(`${candidates[i]!.replace(/\/+$/, "")}/config`, MAX_REMOTE_CONFIG_SIZE);
    } catch (e) {
      if (isArborError(e, "ABORTED")) throw e;
      continue; // this mirror does not work: try the next
    }
    return candidates.slice(i, i + MAX_MIRRORS);
  }
  throw new ArborError("BAD_CONFIG", `No valid mirrors were found in mirrorlist '${url}'`);
}
