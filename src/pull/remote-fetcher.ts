/**
 * The fetcher a pull (or `remote refs`/`remote summary`) uses for a remote, from its config:
 *  - `url=file:///…`: the local archive repository (fetcher-file.ts);
 *  - `url=http(s)://…`: one HTTP fetcher, `contenturl` for objects when set;
 *  - `url=mirrorlist=URL` and/or `contenturl=mirrorlist=URL`: the mirrors listed (mirrorlist.ts),
 *    tried in order for each request (fetcher-mirrored.ts);
 *  - `metalink=URL`: the summary comes from the metalink's targets, verified against its size and
 *    hashes, and the repository is the directory of the target that served it (metalink.ts).
 * `--url` replaces `url` and `contenturl`, but not a metalink (as ostree).
 * TLS, proxy, headers, cookies and retries come from the remote for every server contacted,
 * the mirror list and metalink servers included.
 */
import { ArborError } from "../errors.js";
import type { Remote } from "../repo/remotes.js";
import { cookieJarPath, readCookies } from "./cookies.js";
import type { Fetcher, RetryPolicy } from "./fetcher.js";
import { FileFetcher } from "./fetcher-file.js";
import { HttpFetcher, type HttpFetcherOptions } from "./fetcher-http.js";
import { MirroredFetcher } from "./fetcher-mirrored.js";
import { fetchViaMetalink, type UrlGetter } from "./metalink.js";
import { resolveMirrorlist } from "./mirrorlist.js";
import { MAX_FETCHED_METADATA_SIZE } from "./objects.js";

/** The pull options that shape the fetcher. */
export interface RemoteFetcherOptions {
  /** Remote name (for messages when `remote` is null). */
  remote: string;
  /** `--url`: replaces the remote's `url` (and its `contenturl`, as ostree). */
  url?: string;
  httpHeaders?: Array<[string, string]>;
  appendUserAgent?: string;
  networkRetries?: number;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  partialDir?: string;
  signal?: AbortSignal;
}

const MIRRORLIST = "mirrorlist=";

/** HTTP settings shared by every server of the remote. */
function httpSettings(
  remote: Remote | null,
  o: RemoteFetcherOptions,
  repoPath: string | undefined,
): Omit<HttpFetcherOptions, "url"> {
  const bool = (k: string): boolean => remote?.getBool(k, false) ?? false;
  return {
    headers: o.httpHeaders,
    cookies: repoPath && remote ? readCookies(cookieJarPath(repoPath, remote.name)) : [],
    ...(o.appendUserAgent ? { appendUserAgent: o.appendUserAgent } : {}),
    tlsPermissive: bool("tls-permissive"),
    tlsCaPath: remote?.get("tls-ca-path"),
    tlsClientCertPath: remote?.get("tls-client-cert-path"),
    tlsClientKeyPath: remote?.get("tls-client-key-path"),
    proxy: remote?.get("proxy"),
    retry: { ...o.retry, ...(o.networkRetries !== undefined ? { retries: o.networkRetries } : {}) },
    timeoutMs: o.timeoutMs,
    ...(o.partialDir ? { partialDir: o.partialDir } : {}),
  };
}

/** Split an absolute URL into a directory base and the last segment (with the query). */
function splitUrl(url: string): { base: string; leaf: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ArborError("BAD_CONFIG", `Invalid URL "${url}"`);
  }
  const cut = u.pathname.lastIndexOf("/");
  const leaf = u.pathname.slice(cut + 1) + u.search;
  u.pathname = u.pathname.slice(0, cut + 1);
  u.search = "";
  u.hash = "";
  return { base: u.toString(), leaf };
}

/**
 * A getter for absolute URLs with the remote's HTTP settings: one fetcher (connection pool) per
 * directory URL, kept in `opened` for the caller to close.
 */
function urlGetter(settings: Omit<HttpFetcherOptions, "url">, opened: Map<string, Fetcher>): UrlGetter {
  return async (url, maxBytes) => {
    const { base, leaf } = splitUrl(url);
    let f = opened.get(base);
    if (!f) {
      f = new HttpFetcher({ ...settings, url: base, partialDir: undefined });
      opened.set(base, f);
    }
    return (await f.get("url", leaf, { maxBytes }))!.data;
  };
}

/**
 * Open the fetcher for `remote` (see the file comment). Network access happens here only for
 * mirror lists and metalinks.
 * @throws ArborError BAD_CONFIG (no URL, bad URL, no valid mirror), NETWORK / NOT_FOUND (mirror
 *   list or metalink unreachable), OBJECT_CORRUPT (bad metalink, no target matching it)
 */
export async function openRemoteFetcher(
  remote: Remote | null,
  o: RemoteFetcherOptions,
  repoPath?: string,
): Promise<Fetcher> {
  // as ostree: a metalink wins over `--url`, which otherwise replaces both url and contenturl
  const metalink = remote?.get("metalink");
  const url = metalink === undefined ? (o.url ?? remote?.get("url")) : undefined;
  if (!url && metalink === undefined)
    throw new ArborError("BAD_CONFIG", `No "url" option in remote "${remote?.name ?? o.remote}"`);
  const contentUrl = metalink === undefined && o.url !== undefined ? o.url : remote?.get("contenturl");
  if (url?.startsWith("file://") && !contentUrl?.startsWith(MIRRORLIST))
    return new FileFetcher({ url, contentUrl });
  const settings = httpSettings(remote, o, repoPath);
  if (metalink === undefined && !url!.startsWith(MIRRORLIST) && !contentUrl?.startsWith(MIRRORLIST))
    return new HttpFetcher({ ...settings, url: url!, contentUrl });

  const helpers = new Map<string, Fetcher>();
  const get = urlGetter(settings, helpers);
  try {
    const preloaded = new Map<string, Uint8Array>();
    let meta: string[];
    if (metalink !== undefined) {
      const r = await fetchViaMetalink(get, metalink, "summary", MAX_FETCHED_METADATA_SIZE);
      preloaded.set("summary", r.data);
      meta = [r.baseUrl];
    } else if (url!.startsWith(MIRRORLIST)) {
      meta = await resolveMirrorlist(get, url!.slice(MIRRORLIST.length));
    } else {
      meta = [url!];
    }
    let content: string[] | undefined;
    if (contentUrl?.startsWith(MIRRORLIST))
      content = await resolveMirrorlist(get, contentUrl.slice(MIRRORLIST.length));
    else if (contentUrl) content = [contentUrl];
    const byUrl = new Map<string, Fetcher>();
    const fetcher = (u: string): Fetcher => {
      let f = byUrl.get(u);
      if (!f) {
        f = new HttpFetcher({ ...settings, url: u });
        byUrl.set(u, f);
      }
      return f;
    };
    return new MirroredFetcher({
      meta: meta.map(fetcher),
      ...(content ? { content: content.map(fetcher) } : {}),
      preloaded,
    });
  } finally {
    await Promise.all([...helpers.values()].map((f) => f.close()));
  }
}
