import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { readSizedChunks, readSizedSync } from "../../../src/io/read-sized.js";
import { makeTmpDir } from "./_helpers.js";

async function collectAll(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("reading a file of known size", () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let p: string;
  const data = new Uint8Array((4 << 20) + 1000).map((_, i) => (i * 31) % 251);
  beforeEach(() => {
    tmp = makeTmpDir("arbor-read-sized-");
    p = join(tmp.dir, "f");
    fs.writeFileSync(p, data);
  });
  afterEach(() => tmp.cleanup());

  it("reads the first `size` bytes, whole or in chunks of at most 4 MiB", async () => {
    // Buffer.equals: a deep toEqual over 4 MiB of elements takes minutes
    expect(Buffer.from(readSizedSync(p, data.length)).equals(data)).toBe(true);
    expect(new Uint8Array(readSizedSync(p, 10))).toEqual(data.subarray(0, 10));
    expect(readSizedSync(p, 0).length).toBe(0);
    const chunks = await collectAll(readSizedChunks(p, data.length));
    expect(chunks.map((c) => c.length)).toEqual([4 << 20, 1000]);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it("a file shorter than its size is an IO error naming it and what was being done", async () => {
    let err: unknown;
    try {
      readSizedSync(p, data.length + 1, "committed");
    } catch (e) {
      err = e;
    }
    expect(isArborError(err, "IO")).toBe(true);
    expect((err as Error).message).toBe(`File "${p}" shrank while being committed`);
    await expect(collectAll(readSizedChunks(p, data.length + 1))).rejects.toThrow(
      `File "${p}" shrank while being read`,
    );
  });

  it("passes open errors on (and leaves no fd open on any path)", async () => {
    const before = fs.readdirSync("/proc/self/fd").length;
    expect(() => readSizedSync(join(tmp.dir, "missing"), 1)).toThrow(/ENOENT/);
    await expect(collectAll(readSizedChunks(join(tmp.dir, "missing"), 1))).rejects.toThrow(/ENOENT/);
    expect(() => readSizedSync(p, data.length + 1)).toThrow(/shrank/);
    await expect(collectAll(readSizedChunks(p, data.length + 1))).rejects.toThrow(/shrank/);
    expect(fs.readdirSync("/proc/self/fd").length).toBe(before);
  });
});
