/**
 * A large archive object's data compressed on several pool threads at once (pigz's way): cut in
 * {@link CHUNK} pieces, each compressed by the addon's `deflateChunk` primed with the 32 KiB
 * before it, the outputs written in order as one raw-deflate stream (native/deflate_chunk.c says
 * why it is one valid stream). Up to {@link IN_FLIGHT} chunks are compressed at a time; memory
 * stays bounded by that many chunks in and out. Without the addon (or an addon built before
 * deflateChunk), a single zlib stream does it.
 */
import { createDeflateRaw } from "node:zlib";
import { hasNative, native } from "../io/native.js";

/** Bytes of data per compressed chunk. */
const CHUNK = 1024 * 1024;

/** Chunks compressed at once. */
const IN_FLIGHT = 4;

/** How much of the data before a chunk primes its compressor (deflate's window). */
const DICT = 32 * 1024;

/**
 * Compress `data` (raw deflate, level 6) and hand each piece of output to `write`, in order.
 * Settles once every compression started has settled (none runs on after a failure).
 * @throws what `data` or `write` throws; Error when zlib fails.
 */
export async function deflateToWriter(
  data: AsyncIterable<Uint8Array>,
  write: (chunk: Uint8Array) => Promise<void>,
): Promise<void> {
  const addon = hasNative() ? native() : null;
  if (!addon?.deflateChunk) {
    const { pipeline } = await import("node:stream/promises");
    await pipeline(data, createDeflateRaw({ level: 6 }), async (out: AsyncIterable<Buffer>) => {
      for await (const c of out) await write(c);
    });
    return;
  }
  const deflateChunk = addon.deflateChunk.bind(addon);
  const queue: Array<Promise<Buffer>> = [];
  let prevTail: Uint8Array | null = null;
  const send = async (chunk: Uint8Array, last: boolean): Promise<void> => {
    const p = deflateChunk(chunk, prevTail, last);
    p.catch(() => {}); // seen when its turn to be written comes, or dropped after a failure
    queue.push(p);
    prevTail = chunk.length >= DICT ? chunk.subarray(chunk.length - DICT) : null;
    while (queue.length >= IN_FLIGHT) await write(await queue.shift()!);
  };
  // full chunks go as they fill; the rest (maybe nothing: an empty final block) finishes the stream
  let filling = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  try {
    for await (const piece of data) {
      for (let off = 0; off < piece.length; ) {
        const take = Math.min(piece.length - off, CHUNK - filled);
        filling.set(piece.subarray(off, off + take), filled);
        filled += take;
        off += take;
        if (filled === CHUNK) {
          await send(filling, false);
          filling = Buffer.allocUnsafe(CHUNK); // the one sent is still read (its tail primes the next)
          filled = 0;
        }
      }
    }
    await send(filling.subarray(0, filled), true);
    while (queue.length) await write(await queue.shift()!);
  } finally {
    await Promise.allSettled(queue);
  }
}
