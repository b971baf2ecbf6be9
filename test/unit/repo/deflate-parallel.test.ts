/**
 * deflateToWriter (repo/deflate-parallel.ts) and the addon's deflateChunk: a large object's data
 * compressed in chunks on several threads must inflate, as one raw-deflate stream, to the data.
 */
import { randomBytes } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import { describe, expect, it, vi } from "vitest";
import { native } from "../../../src/io/native.js";
import { deflateToWriter } from "../../../src/repo/deflate-parallel.js";

const MiB = 1024 * 1024;

async function* pieces(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

async function compress(data: Buffer, pieceSize = 64 * 1024): Promise<Buffer> {
  const out: Buffer[] = [];
  await deflateToWriter(pieces(data, pieceSize), async (c) => {
    out.push(Buffer.from(c));
  });
  return Buffer.concat(out);
}

/** Text-like data with long repeats across chunk boundaries (matches reach into the previous chunk). */
function compressible(n: number): Buffer {
  const line = Buffer.from("Package: example\nVersion: 1.2.3-4\nDescription: a line that repeats\n");
  const b = Buffer.alloc(n);
  for (let off = 0; off < n; off += line.length) line.copy(b, off);
  return b;
}

describe("deflateToWriter", () => {
  for (const [what, size] of [
    ["empty", 0],
    ["one byte", 1],
    ["one chunk less a byte", MiB - 1],
    ["exactly one chunk", MiB],
    ["one chunk and a byte", MiB + 1],
    ["several chunks and a tail", 5 * MiB + 12345],
  ] as const) {
    it(`inflates back to the data: ${what}`, async () => {
      for (const data of [compressible(size), randomBytes(size)]) {
        const z = await compress(data, 100_000);
        expect(inflateRawSync(z).equals(data)).toBe(true);
      }
    });
  }

  it("compresses repeats across chunk boundaries about as well as one stream", async () => {
    const data = compressible(4 * MiB);
    const z = await compress(data);
    const { deflateRawSync } = await import("node:zlib");
    const single = deflateRawSync(data, { level: 6 });
    // primed with the previous chunk's tail: only the sync flushes' few bytes per chunk more
    expect(z.length).toBeLessThan(single.length + 4 * 64);
  });

  it("passes on a failure of the data or of a write, once nothing is under way", async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield randomBytes(3 * MiB);
      throw new Error("source broke");
    }
    await expect(deflateToWriter(failing(), async () => {})).rejects.toThrow("source broke");
    let writes = 0;
    await expect(
      deflateToWriter(pieces(randomBytes(8 * MiB), MiB), async () => {
        writes++;
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
    expect(writes).toBe(1);
  });
});

describe("deflateToWriter without the addon", () => {
  it("compresses with one zlib stream, to the same data", async () => {
    vi.resetModules();
    vi.doMock("../../../src/io/native.js", () => ({ hasNative: () => false, native: () => ({}) }));
    try {
      const mod = await import("../../../src/repo/deflate-parallel.js");
      const data = compressible(3 * MiB + 7);
      const out: Buffer[] = [];
      await mod.deflateToWriter(pieces(data, 100_000), async (c) => {
        out.push(Buffer.from(c));
      });
      const z = Buffer.concat(out);
      expect(inflateRawSync(z).equals(data)).toBe(true);
      // a single stream: no sync-flush markers (the chunked path writes one per MiB)
      const { deflateRawSync } = await import("node:zlib");
      expect(z.equals(deflateRawSync(data, { level: 6 }))).toBe(true);
    } finally {
      vi.doUnmock("../../../src/io/native.js");
      vi.resetModules();
    }
  });
});

describe("native deflateChunk", () => {
  it("refuses bad arguments synchronously", () => {
    const d = native().deflateChunk!.bind(native());
    expect(() => d("x" as never, null, true)).toThrow(TypeError);
    expect(() => d(Buffer.alloc(1), null, 1 as never)).toThrow(/last must be a boolean/);
    expect(() => d(Buffer.alloc(1), Buffer.alloc(32 * 1024 + 1), false)).toThrow(RangeError);
    expect(() => d(Buffer.alloc(16 * MiB + 1), null, false)).toThrow(RangeError);
  });

  it("ends a chunk that is not the last with a sync flush, and the last one with the final block", async () => {
    const d = native().deflateChunk!.bind(native());
    const open = await d(Buffer.from("hello"), null, false);
    expect([...open.subarray(-4)]).toEqual([0, 0, 0xff, 0xff]); // the empty stored block
    const end = await d(Buffer.from(" world"), Buffer.from("hello"), true);
    expect(inflateRawSync(Buffer.concat([open, end])).toString()).toBe("hello world");
  });
});
