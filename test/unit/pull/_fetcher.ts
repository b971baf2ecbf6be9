/** An in-memory {@link Fetcher} for pull unit tests: files by path, request log, optional hooks. */
import { ArborError } from "../../../src/errors.js";
import { DEFAULT_RETRY, type Fetcher, type FetchOptions, withRetries } from "../../../src/pull/fetcher.js";

export class MemoryFetcher implements Fetcher {
  readonly location = "mem://";
  bytesTransferred = 0;
  readonly log: string[] = [];
  constructor(
    readonly files: Map<string, Uint8Array>,
    readonly etags = new Map<string, string>(),
  ) {}

  retry<T>(what: string, op: () => Promise<T>): Promise<T> {
    return withRetries({ ...DEFAULT_RETRY, baseDelayMs: 1, maxDelayMs: 2 }, what, op);
  }

  async get(_base: "url" | "content", path: string, opts: FetchOptions = {}) {
    this.log.push(path);
    const data = this.files.get(path);
    if (!data) {
      if (opts.optional) return null;
      throw new ArborError("NOT_FOUND", `Cannot fetch ${path}: Server returned HTTP 404`);
    }
    const etag = this.etags.get(path);
    if (etag && opts.ifNoneMatch === etag) return { data: new Uint8Array(0), notModified: true, etag };
    if (opts.maxBytes !== undefined && data.length > opts.maxBytes)
      throw new ArborError("OBJECT_CORRUPT", `${path} too large`);
    this.bytesTransferred += data.length;
    return { data, notModified: false, ...(etag ? { etag } : {}) };
  }

  async stream(base: "url" | "content", path: string, opts: FetchOptions = {}) {
    const r = await this.get(base, path, opts);
    if (!r) return null;
    const data = r.data;
    return {
      length: data.length,
      cancel: () => {},
      body: {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
        },
      },
    };
  }

  async close() {}
}
