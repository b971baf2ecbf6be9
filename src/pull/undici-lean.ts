/**
 * The parts of undici a proxied pull uses, loaded on first use and from their own modules where
 * that is possible. Direct connections do not use undici at all (http1-client.ts): nothing here
 * is loaded until a remote with a `proxy` is fetched from.
 *
 * `import "undici"` evaluates ~95 files (fetch, WebSocket, EventSource, cache, mock agents…);
 * the `request` API alone is a few of them. A proxy needs `Dispatcher.prototype.connect`, which
 * only the index installs, so {@link proxyAgent} loads the whole package (paid only then).
 *
 * undici 6 has no `exports` map: these paths are part of what its package publishes. If an upgrade
 * moves them, the load fails at once with MODULE_NOT_FOUND (the proxy tests exercise it).
 */
import { createRequire } from "node:module";
import type * as Undici from "undici";

const load = createRequire(import.meta.url);

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, "origin" | "path"> & {
  dispatcher: Undici.Dispatcher;
  maxRedirections?: number;
};

type ApiRequest = (
  this: Undici.Dispatcher,
  opts: Undici.Dispatcher.RequestOptions & { maxRedirections?: number },
) => Promise<Undici.Dispatcher.ResponseData>;

let apiRequest: ApiRequest | undefined;

/**
 * `undici.request(url, opts)`: the same call the package's top-level `request` makes (origin and
 * path split from the URL, sent through `opts.dispatcher`).
 * @throws TypeError for an invalid URL; undici's errors as `request` rejects with them.
 */
export function request(url: string, opts: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  apiRequest ??= load("undici/lib/api/api-request.js") as ApiRequest;
  const u = new URL(url);
  const { dispatcher, ...rest } = opts;
  return apiRequest.call(dispatcher, {
    ...rest,
    origin: u.origin,
    path: u.search ? `${u.pathname}${u.search}` : u.pathname,
  });
}

/** A ProxyAgent (loads the whole package: tunnelling needs the API methods its index installs). */
export function proxyAgent(opts: Undici.ProxyAgent.Options): Undici.ProxyAgent {
  const { ProxyAgent } = load("undici") as typeof Undici;
  return new ProxyAgent(opts);
}
