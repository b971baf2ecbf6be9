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
  const n = hasNative() ? native() : null;
  if (!n?.deflateChunk) {
    const { pipeline } = await import("node:stream/promises");
    await pipeline(data, createDeflateRaw({ level: 6 }), async (out: AsyncIterable<Buffer>) => {
      for await (const c of out) await write(c);
    });
    return;
  }
  const deflateChunk = n.deflateChunk.bind(n);
  const queue: Array<Promise<Buffer>> = [];
  let prevTail: Uint8Array | null = null;
  // the chunk being filled, and a full one held back until it is known not to be the last
  let filling = Buffer.allocUnsafe(CHUNK);
  let filled = 0;
  let held: Buffer | null = null;
  const send = async (chunk: Uint8Array, last: boolean): Promise<void> => {
    const p = deflateChunk(chunk, prevTail, last);
    p.catch(() => {}); // seen when its turn to be written comes, or dropped after a failure
    queue.push(p);
    prevTail = chunk.length >= DICT ? chunk.subarray(chunk.length - DICT) : null;
    while (queue.length >= IN_FLIGHT) await write(await queue.shift()!);
  };
  try {
    for await (const piece of data) {
      let off = 0;
      while (off < piece.length) {
        const n = Math.min(piece.length - off, CHUNK - filled);
        filling.set(piece.subarray(off, off + n), filled);
        filled += n;
        off += n;
        if (filled === CHUNK) {
          if (held) await send(held, false);
          held = filling;
          filling = Buffer.allocUnsafe(CHUNK);
          filled = 0;
        }
      }
    }
    if (held && filled > 0) {
      await send(held, false);
      held = null;
    }
    await send(held ?? filling.subarray(0, filled), true);
    while (queue.length) await write(await queue.shift()!);
  } finally {
    await Promise.allSettled(queue);
  }
}
