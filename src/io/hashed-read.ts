/**
 * Files read and hashed on libuv's thread pool, in batches (the addon's `readFilesHashed`,
 * io/pool-batcher.ts): a commit reads and hashes every file of its tree, ~1.2 s of the main
 * thread's ~4 s for the Debian minbase tree when done there.
 */
import { ArborError } from "../errors.js";
import { hasNative, native } from "./native.js";
import { PoolBatcher } from "./pool-batcher.js";

/** Largest file read so (the addon's limit; commits stream files from 8 MiB up anyway). */
const LIMIT = 64 * 1024 * 1024;

type Item = readonly [path: string, prefix: Uint8Array];

/** A read file: its bytes, and the hex SHA-256 of the prefix followed by them. */
export type HashedFile = readonly [data: Buffer, digest: string];

let batcher: PoolBatcher<Item, HashedFile> | null | undefined;

function asHashed(path: string, r: HashedFile | number | Error): HashedFile | Error {
  if (typeof r === "number")
    return new ArborError("IO", `File "${path}" grew to ${r} bytes while being read`, { data: { path } });
  return r;
}

/**
 * A function reading a whole file (at most 64 MiB) on the thread pool and hashing `prefix`
 * followed by its bytes; null without the addon (or with one built before `readFilesHashed`).
 * Its promise rejects with a Node system error (ENOENT…) or ArborError IO.
 */
export function hashedReader(): ((path: string, prefix: Uint8Array) => Promise<HashedFile>) | null {
  if (batcher === undefined) {
    const n = hasNative() ? native() : null;
    const read = n?.readFilesHashed?.bind(n);
    batcher = read
      ? new PoolBatcher<Item, HashedFile>({
          many: async (items) => {
            const results = await read(items, LIMIT);
            return results.map((r, i) => asHashed(items[i]![0], r));
          },
          one: async (item) => {
            const r = asHashed(item[0], (await read([item], LIMIT))[0]!);
            if (r instanceof Error) throw r;
            return r;
          },
        })
      : null;
  }
  const b = batcher;
  return b ? (path, prefix) => b.submit([path, prefix]) : null;
}
