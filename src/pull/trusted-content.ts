/**
 * `pull --mirror --http-trusted` into an archive repository: content objects stored exactly as the
 * server sends them, as ostree does (its "trusted HTTP direct" path). Only in that case, and only
 * for content (`.filez`): metadata is always verified, and without `--mirror`, into a bare or
 * bare-user repository, or with `--bareuseronly-files`, content is parsed and verified as in any
 * pull (objects.ts) — `--http-trusted` then changes nothing. `file://` remotes never take this
 * path. A corrupt object fetched this way is stored as is; `fsck` reports it.
 *
 * Unverified is not unbounded: a body is refused when the server announces, or sends, more than
 * {@link MAX_TRUSTED_CONTENT_SIZE} bytes, or more than its Content-Length.
 */
import { ArborError } from "../errors.js";
import type { Transaction } from "../repo/transaction.js";
import { type Fetcher, TransientError } from "./fetcher.js";
import { remoteObjectPath } from "./objects.js";

/**
 * Largest content object stored unverified (compressed bytes): 16 GiB, far above any file an OS
 * tree ships. (A verified pull bounds each object by the size its header declares instead.)
 */
export const MAX_TRUSTED_CONTENT_SIZE = 16 * 1024 * 1024 * 1024;

/**
 * Whether content objects skip verification ({@link fetchTrustedContentInto} instead of objects.ts's
 * `fetchContentInto`): ostree's rule, see the file comment.
 */
export function trustedHttpDirect(o: {
  httpTrusted?: boolean;
  mirror?: boolean;
  archive: boolean;
  bareUserOnlyFiles?: boolean;
  local?: boolean;
}): boolean {
  return !!o.httpTrusted && !!o.mirror && o.archive && !o.bareUserOnlyFiles && !o.local;
}

/**
 * Pass `body` through, refusing it once it holds more than `length` (the Content-Length, when the
 * server sent one) or `cap` bytes; a body shorter than its Content-Length is a broken transfer
 * (transient, retried).
 * @throws ArborError OBJECT_CORRUPT (too large), NETWORK (TransientError: incomplete)
 */
export async function* boundedBody(
  body: AsyncIterable<Uint8Array>,
  checksum: string,
  length: number | undefined,
  cap: number = MAX_TRUSTED_CONTENT_SIZE,
): AsyncGenerator<Uint8Array> {
  const what = `Cannot fetch content object ${checksum}`;
  if (length !== undefined && length > cap)
    throw new ArborError(
      "OBJECT_CORRUPT",
      `${what}: the server announces ${length} bytes, more than the ${cap} an unverified object may have`,
    );
  const limit = length ?? cap;
  let n = 0;
  for await (const chunk of body) {
    n += chunk.length;
    if (n > limit) {
      const bound = length !== undefined ? "its Content-Length" : "an unverified object may have";
      throw new ArborError("OBJECT_CORRUPT", `${what}: more than the ${limit} bytes ${bound}`);
    }
    yield chunk;
  }
  if (length !== undefined && n < length)
    throw new TransientError(`${what}: Download incomplete (${n} of ${length} bytes)`);
}

/**
 * Fetch a content object's archive file and stage it byte for byte, unverified (see the file
 * comment; the caller has decided {@link trustedHttpDirect}).
 * @throws ArborError NOT_FOUND, OBJECT_CORRUPT (too large), NETWORK (retried inside), IO
 */
export async function fetchTrustedContentInto(
  fetcher: Fetcher,
  tx: Transaction,
  checksum: string,
  signal?: AbortSignal,
): Promise<void> {
  const path = remoteObjectPath("file", checksum);
  await fetcher.retry(
    `Cannot fetch content object ${checksum}`,
    async () => {
      const s = await fetcher.stream("content", path, { signal, maxBytes: MAX_TRUSTED_CONTENT_SIZE });
      if (!s)
        throw new ArborError("NOT_FOUND", `Content object ${checksum} not found on ${fetcher.location}`);
      try {
        await tx.writeTrustedArchiveContent(checksum, boundedBody(s.body, checksum, s.length));
      } finally {
        s.cancel();
      }
    },
    signal,
  );
}
