/**
 * Fetching one object and proving it before it is stored (fact sheet §5.4):
 *  - metadata (`.commit`, `.dirtree`, `.dirmeta`): at most 128 MiB, SHA-256 of the bytes equals the
 *    name, structure valid and in normal form;
 *  - detached metadata (`.commitmeta`): optional (404 = none), a valid `a{sv}`;
 *  - content (`.filez`): the archive header is parsed, the raw-deflate body inflated as it
 *    streams, the canonical content stream rebuilt and hashed; the Transaction refuses it unless
 *    the hash equals the name and the inflated size equals the declared one. A body may not
 *    carry more compressed bytes than its declared size can need.
 * Nothing reaches `objects/` unverified: writes go through {@link Transaction}, which publishes
 * only at commit.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createInflateRaw } from "node:zlib";
import { checksumMismatch, corruptContent, sha256Hex } from "../core/checksum.js";
import type { FileHeader } from "../core/content-header.js";
import { decodeCommit, decodeDirmeta, decodeDirtree, decodeVarDict, type VarDict } from "../core/metadata.js";
import { isLnk } from "../core/mode.js";
import { objectRelPath } from "../core/object-path.js";
import type { ObjectType } from "../core/object-type.js";
import { ArborError } from "../errors.js";
import { COMMIT, DIRMETA, DIRTREE } from "../gvariant/formats.js";
import { isNormalForm } from "../gvariant/index.js";
import { decodeArchiveHeaderCached } from "../repo/content-fast.js";
import type { Transaction } from "../repo/transaction.js";
import type { Fetcher } from "./fetcher.js";

/** Largest archive header accepted (xattrs included). */
const MAX_HEADER = 16 * 1024 * 1024;
/**
 * Content objects at most this big (uncompressed) are received whole, then inflated, hashed and
 * written in one thread-pool trip (Transaction.writeDeflatedContent) rather than streamed: with
 * PULL_CONCURRENCY (16) fetches in flight, at most ~32 MiB of bodies and as much inflated data are
 * held at once (the Debian minbase pull peaks at ~130 MB RSS in all).
 */
const SMALL_OBJECT = 2 * 1024 * 1024;

/**
 * Largest metadata object (and summary) accepted from a remote: 10 MiB, OSTree 2022.7's
 * OSTREE_MAX_METADATA_SIZE (newer OSTree allows 128 MiB; repositories OSTree 2022.7 can pull stay
 * within this).
 */
export const MAX_FETCHED_METADATA_SIZE = 10 * 1024 * 1024;

const TYPE_STRING: Partial<Record<ObjectType, string>> = {
  commit: COMMIT,
  dirtree: DIRTREE,
  dirmeta: DIRMETA,
};

/** Archive-layout path of an object on the remote. */
export function remoteObjectPath(type: ObjectType, checksum: string): string {
  return objectRelPath(checksum, type, true);
}

/**
 * Check fetched metadata bytes: hash, structure, normal form.
 * @throws ArborError OBJECT_CORRUPT naming the object and what is wrong.
 */
export function verifyMetadata(type: ObjectType, checksum: string, bytes: Uint8Array): void {
  const name = `${checksum}.${type}`;
  const actual = sha256Hex(bytes);
  if (actual !== checksum) throw checksumMismatch(type, checksum, actual);
  if (type === "commit") decodeCommit(bytes, name);
  else if (type === "dirtree") decodeDirtree(bytes, name);
  else if (type === "dirmeta") decodeDirmeta(bytes, name);
  const t = TYPE_STRING[type];
  if (t && !isNormalForm(t, bytes))
    throw new ArborError("OBJECT_CORRUPT", `Invalid ${name}: not in normal form`);
}

/**
 * Fetch and verify a metadata object (not yet stored).
 * @throws ArborError NOT_FOUND (404), OBJECT_CORRUPT, NETWORK
 */
export async function fetchMetadata(
  fetcher: Fetcher,
  type: "commit" | "dirtree" | "dirmeta",
  checksum: string,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const r = await fetcher.get("content", remoteObjectPath(type, checksum), {
    maxBytes: MAX_FETCHED_METADATA_SIZE,
    signal,
  });
  const bytes = r!.data;
  verifyMetadata(type, checksum, bytes);
  return bytes;
}

/**
 * Fetch a commit's detached metadata; null when the server has none (404) or it is not an a{sv}.
 * @throws ArborError NETWORK
 */
export async function fetchCommitMeta(
  fetcher: Fetcher,
  checksum: string,
  signal?: AbortSignal,
): Promise<{ bytes: Uint8Array; meta: VarDict } | null> {
  const r = await fetcher.get("url", remoteObjectPath("commitmeta", checksum), {
    optional: true,
    maxBytes: MAX_FETCHED_METADATA_SIZE,
    signal,
  });
  if (!r) return null;
  try {
    return { bytes: r.data, meta: decodeVarDict(r.data, `detached metadata of ${checksum}`) };
  } catch {
    // Undecodable: treated as absent (not stored). A remote that requires signatures then
    // refuses the commit for lack of them; one that does not still gets the commit (as ostree).
    return null;
  }
}

/** The most compressed bytes a raw-deflate stream of `size` bytes can reasonably need. */
export function maxCompressedSize(size: number): number {
  // zlib's stored-block worst case is ~5 bytes per 64 KiB; allow an eighth on top for other encoders.
  return size + Math.ceil(size / 8) + 64 * 1024;
}

/**
 * `--bareuseronly-files`: refuse regular files with bits outside 0775 (setuid, world-writable…).
 * @throws ArborError OBJECT_CORRUPT in OSTree's words.
 */
export function checkBareUserOnlyMode(mode: number, checksum: string): void {
  const bad = mode & 0o7777 & ~0o775;
  if ((mode & 0o170000) === 0o100000 && bad) {
    const oct = (n: number): string => `0${n.toString(8).padStart(4, "0")}`;
    throw new ArborError(
      "OBJECT_CORRUPT",
      `Content object ${checksum}: invalid mode ${oct(mode)} with bits ${oct(bad)}`,
    );
  }
}

function parseFramedHeader(
  buf: Buffer,
  checksum: string,
): { header: FileHeader; size: number; dataOffset: number } | null {
  if (buf.length < 8) return null;
  const len = buf.readUInt32BE(0);
  if (len > MAX_HEADER) throw corruptContent(checksum, `header length ${len} is too large`);
  if (buf.length < 8 + len) return null;
  let parsed: { header: FileHeader; size: number };
  try {
    parsed = decodeArchiveHeaderCached(buf.subarray(8, 8 + len));
  } catch (e) {
    throw corruptContent(checksum, (e as Error).message);
  }
  return { ...parsed, dataOffset: 8 + len };
}

/**
 * Fetch a content object, verify it and stage it in `tx`.
 * @throws ArborError OBJECT_CORRUPT, NOT_FOUND, NETWORK (retried inside on transient failures)
 */
export async function fetchContentInto(
  fetcher: Fetcher,
  tx: Transaction,
  checksum: string,
  signal?: AbortSignal,
  opts: { bareUserOnlyFiles?: boolean } = {},
): Promise<void> {
  const path = remoteObjectPath("file", checksum);
  await fetcher.retry(
    `Cannot fetch content object ${checksum}`,
    async () => {
      const s = await fetcher.stream("content", path, { signal });
      if (!s)
        throw new ArborError("NOT_FOUND", `Content object ${checksum} not found on ${fetcher.location}`);
      const it = s.body[Symbol.asyncIterator]();
      try {
        await consume(it, s.length, tx, checksum, opts.bareUserOnlyFiles ?? false);
      } finally {
        s.cancel();
      }
    },
    signal,
  );
}

async function consume(
  it: AsyncIterator<Uint8Array>,
  length: number | undefined,
  tx: Transaction,
  checksum: string,
  bareUserOnlyFiles: boolean,
): Promise<void> {
  // 1. the header
  let buf: Buffer = Buffer.alloc(0);
  let hdr: ReturnType<typeof parseFramedHeader> = null;
  while (!hdr) {
    const n = await it.next();
    if (n.done) throw corruptContent(checksum, "truncated header");
    // the first chunk (usually the whole small object) is used as is, not copied
    const chunk = Buffer.from(n.value.buffer, n.value.byteOffset, n.value.byteLength);
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    if (buf.length > MAX_HEADER + 8 + 64 * 1024 && !hdr) throw corruptContent(checksum, "header too large");
    hdr = parseFramedHeader(buf, checksum);
  }
  const { header, size, dataOffset } = hdr;
  if (bareUserOnlyFiles) checkBareUserOnlyMode(header.mode, checksum);
  const limit = dataOffset + (isLnk(header.mode) ? 0 : maxCompressedSize(size));
  if (length !== undefined && length > limit)
    throw corruptContent(
      checksum,
      `server announces ${length} bytes, more than the object can hold (${limit})`,
    );
  let received = buf.length;
  const overflow = () => corruptContent(checksum, `more than the ${limit} bytes the object can hold`);
  /**
   * The body's next chunk (null at its end), counted against what the object can hold; throws
   * again if an earlier reader (the inflater's, whose error it swallows) already went past it.
   */
  const next = async (): Promise<Uint8Array | null> => {
    if (received > limit) throw overflow();
    const n = await it.next();
    if (n.done) return null;
    received += n.value.length;
    if (received > limit) throw overflow();
    return n.value;
  };
  const rest = buf.subarray(dataOffset);
  const more = async function* (): AsyncGenerator<Buffer> {
    if (rest.length) yield rest;
    for (let c = await next(); c !== null; c = await next())
      yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  };
  if (isLnk(header.mode)) {
    for await (const c of more()) if (c.length) throw corruptContent(checksum, "symlink with data");
    await tx.writeContent(header, new Uint8Array(0), checksum);
    return;
  }
  // 2. small objects: whole in memory (no temp file), inflated and hashed where they are written
  if (size <= SMALL_OBJECT) {
    const parts: Buffer[] = [];
    for await (const c of more()) parts.push(c);
    // the chunks as they came (the transaction joins them only where it must)
    await tx.writeDeflatedContent(header, parts.length === 1 ? parts[0]! : parts, size, checksum);
    return;
  }
  // 3. large objects: inflate as it streams into the transaction
  await tx.writeContentStream(header, size, inflateStream(more(), checksum), checksum);
  // The inflater stops at the end of the compressed stream, which may come before the body's end
  // has been read: what the server still sends must fit in the object too (else the pull fails
  // and the transaction, with this object, is dropped).
  while ((await next()) !== null);
}

async function* inflateStream(src: AsyncIterable<Buffer>, checksum: string): AsyncGenerator<Uint8Array> {
  // pipeline() gives backpressure both ways and destroys the inflater if the body fails.
  // 1 MiB output chunks: zlib's default (16 KiB) costs a thread-pool trip per 16 KiB
  const z = createInflateRaw({ chunkSize: 1 << 20 });
  const done = pipeline(Readable.from(src), z).catch(() => {});
  try {
    for await (const c of z as AsyncIterable<Buffer>) yield c;
  } catch (e) {
    if (e instanceof ArborError) throw e;
    const code = (e as { code?: string }).code ?? "";
    if (code.startsWith("Z_")) throw corruptContent(checksum, `cannot decompress: ${(e as Error).message}`);
    throw e;
  } finally {
    z.destroy();
    await done;
  }
}
