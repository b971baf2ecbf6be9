/**
 * The parts of undici a pull uses, loaded from their own modules instead of the package index.
 *
 * `import "undici"` evaluates ~95 files (fetch, WebSocket, EventSource, cache, mock agents…);
 * a direct connection needs only the Agent and the `request` API (28 files): that halves undici's
 * load cost (measured: ~0.23 s → ~0.10 s of CPU), a fixed price every `pull` and `remote
 * summary` pays before its first byte. A proxy needs `Dispatcher.prototype.connect`, which only
 * the index installs, so {@link proxyAgent} loads the whole package (rarely used, paid only then).
 *
 * undici 6 has no `exports` map: these paths are part of what its package publishes. If an upgrade
 * moves them, the load fails at once with MODULE_NOT_FOUND (every HTTP test exercises it).
 */
import { createRequire } from "node:module";
import type * as Undici from "undici";

const load = createRequire(import.meta.url);

/** undici's connection-pooling Agent (lib/dispatcher/agent.js). */
export const Agent = load("undici/lib/dispatcher/agent.js") as typeof Undici.Agent;

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, "origin" | "path"> & {
  dispatcher: Undici.Dispatcher;
  maxRedirections?: number;
};

type ApiRequest = (
  this: Undici.Dispatcher,
  opts: Undici.Dispatcher.RequestOptions & { maxRedirections?: number },
) => Promise<Undici.Dispatcher.ResponseData>;

const apiRequest = load("undici/lib/api/api-request.js") as ApiRequest;

/**
 * `undici.request(url, opts)`: the same call the package's top-level `request` makes (origin and
 * path split from the URL, sent through `opts.dispatcher`).
 * @throws TypeError for an invalid URL; undici's errors as `request` rejects with them.
 */
export function request(url: string, opts: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
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
