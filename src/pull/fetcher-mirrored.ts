/**
 * A {@link Fetcher} over several mirrors (mirror lists, metalink remotes): each base (`url`,
 * `content`) has an ordered list of fetchers, one per mirror. A request goes to the first
 * mirror; when that mirror answers with an HTTP error (404, 403…), the next one is asked, and the
 * last mirror's answer is final, as ostree's fetcher does. Failures that are not an HTTP answer
 * (connection refused, reset, 5xx after the retries, a body too large) end the request there.
 *
 * A metalink remote's summary was already fetched and checked against the metalink's hashes;
 * it is served from memory as the `url` base's `summary` (`preloaded`).
 */
import { isArborError } from "../errors.js";
import type { FetchBase, Fetched, FetchedStream, Fetcher, FetchOptions } from "./fetcher.js";

/** Options for {@link MirroredFetcher}. */
export interface MirroredFetcherOptions {
  /** Mirrors for `url` (summary, config, refs, commitmeta), in order; at least one. */
  meta: Fetcher[];
  /** Mirrors for `content` (objects, deltas), in order; defaults to `meta`. */
  content?: Fetcher[];
  /** Files of the `url` base already fetched and verified (e.g. `summary` from a metalink). */
  preloaded?: ReadonlyMap<string, Uint8Array>;
}

/** True when `e` is a mirror's HTTP answer (not a transport failure): try the next mirror. */
function isHttpAnswer(e: unknown): boolean {
  if (!isArborError(e)) return false;
  if (e.code === "NOT_FOUND") return true;
  return e.code === "NETWORK" && typeof e.data?.status === "number";
}

/** See the file comment. */
export class MirroredFetcher implements Fetcher {
  readonly location: string;
  private readonly lists: Record<FetchBase, Fetcher[]>;
  private readonly all: Fetcher[];
  private readonly preloaded: ReadonlyMap<string, Uint8Array>;

  constructor(o: MirroredFetcherOptions) {
    if (o.meta.length === 0) throw new Error("MirroredFetcher needs at least one mirror");
    this.lists = { url: o.meta, content: o.content?.length ? o.content : o.meta };
    this.all = [...new Set([...this.lists.url, ...this.lists.content])];
    this.location = o.meta[0]!.location;
    this.preloaded = o.preloaded ?? new Map();
  }

  get bytesTransferred(): number {
    return this.all.reduce((n, f) => n + f.bytesTransferred, 0);
  }

  /** Ask each mirror in turn (see the file comment). */
  private async first<T>(
    base: FetchBase,
    opts: FetchOptions,
    op: (f: Fetcher, o: FetchOptions) => Promise<T | null>,
  ): Promise<T | null> {
    const list = this.lists[base];
    for (let i = 0; ; i++) {
      const last = i === list.length - 1;
      try {
        const r = await op(list[i]!, last ? opts : { ...opts, optional: true });
        if (r !== null || last) return r;
      } catch (e) {
        if (last || !isHttpAnswer(e)) throw e;
      }
    }
  }

  get(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<Fetched | null> {
    const pre = base === "url" ? this.preloaded.get(path) : undefined;
    if (pre) return Promise.resolve({ data: pre, notModified: false });
    return this.first(base, opts, (f, o) => f.get("url", path, o));
  }

  stream(base: FetchBase, path: string, opts: FetchOptions = {}): Promise<FetchedStream | null> {
    return this.first(base, opts, (f, o) => f.stream("url", path, o));
  }

  retry<T>(what: string, op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return this.lists.content[0]!.retry(what, op, signal);
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((f) => f.close()));
  }
}
