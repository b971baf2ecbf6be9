/**
 * `file://` fetcher: reads an archive repository on the local filesystem through the same
 * interface as HTTP, so a `file://` remote gets exactly the verification an HTTP one gets. Paths
 * are resolved under the base directory and refused if they would leave it.
 */
import { createReadStream, lstatSync, readFileSync, realpathSync } from "node:fs";
import { join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import {
  DEFAULT_RETRY,
  type FetchBase,
  type Fetched,
  type FetchedStream,
  type Fetcher,
  type FetchOptions,
  withRetries,
} from "./fetcher.js";

function basePath(u: string): string {
  try {
    return resolve(fileURLToPath(u));
  } catch {
    throw new ArborError("BAD_CONFIG", `Invalid URL "${u}"`);
  }
}

/** A {@link Fetcher} over a local directory. */
export class FileFetcher implements Fetcher {
  readonly location: string;
  readonly local = true;
  private readonly bases: Record<FetchBase, string>;
  private transferred = 0;

  constructor(o: { url: string; contentUrl?: string }) {
    this.location = o.url;
    this.bases = { url: basePath(o.url), content: basePath(o.contentUrl ?? o.url) };
  }

  get bytesTransferred(): number {
    return this.transferred;
  }

  retry<T>(what: string, op: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetries(DEFAULT_RETRY, what, op, signal);
  }

  private path(base: FetchBase, rel: string): string | null {
    const root = this.bases[base];
    const p = resolve(join(root, rel));
    if (p !== root && !p.startsWith(root + sep)) {
      throw new ArborError("PATH_ESCAPE", `Refusing to read "${rel}" outside "${root}"`);
    }
    try {
      const real = realpathSync(p);
      const realRoot = realpathSync(root);
      if (real !== realRoot && !real.startsWith(realRoot + sep))
        throw new ArborError("PATH_ESCAPE", `Refusing to read "${rel}" outside "${root}"`);
      return real;
    } catch (e) {
      if (e instanceof ArborError) throw e;
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return null;
      throw fromSystemError(`Cannot read "${p}"`, e);
    }
  }

  private missing(base: FetchBase, rel: string, opts: FetchOptions): null {
    if (opts.optional) return null;
    throw new ArborError(
      "NOT_FOUND",
      `Cannot fetch ${join(this.bases[base], rel)}: No such file or directory`,
    );
  }

  private checkSize(p: string, opts: FetchOptions): number {
    const size = lstatSync(p).size;
    if (opts.maxBytes !== undefined && size > opts.maxBytes) {
      throw new ArborError(
        "OBJECT_CORRUPT",
        `File "${p}" is ${size} bytes, more than the ${opts.maxBytes} it may hold`,
      );
    }
    return size;
  }

  async get(base: FetchBase, rel: string, opts: FetchOptions = {}): Promise<Fetched | null> {
    const p = this.path(base, rel);
    if (!p) return this.missing(base, rel, opts);
    this.checkSize(p, opts);
    const data = new Uint8Array(readFileSync(p));
    this.transferred += data.length;
    return { data, notModified: false };
  }

  async stream(base: FetchBase, rel: string, opts: FetchOptions = {}): Promise<FetchedStream | null> {
    const p = this.path(base, rel);
    if (!p) return this.missing(base, rel, opts);
    const length = this.checkSize(p, opts);
    const rs = createReadStream(p);
    const self = this;
    return {
      length,
      cancel: () => rs.destroy(),
      body: {
        async *[Symbol.asyncIterator]() {
          for await (const c of rs as AsyncIterable<Buffer>) {
            self.transferred += c.length;
            yield c;
          }
        },
      },
    };
  }

  async close(): Promise<void> {}
}
