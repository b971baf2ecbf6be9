import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { checksumContent, encodeArchiveHeader, type FileHeader } from "../../../src/core/content-header.js";
import { encodeDirtree } from "../../../src/core/metadata.js";
import {
  fetchContentInto,
  maxCompressedSize,
  remoteObjectPath,
  verifyMetadata,
} from "../../../src/pull/objects.js";
import { Repo } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";
import { MemoryFetcher } from "./_fetcher.js";

let dir: string;
let repo: Repo;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-objects-"));
  repo = Repo.create(join(dir, "repo"), { mode: "bare-user" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const reg: FileHeader = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };

function filez(h: FileHeader, declared: number, body: Uint8Array): Uint8Array {
  return Buffer.concat([encodeArchiveHeader(h, declared), body]);
}

async function fetchOne(files: Map<string, Uint8Array>, cs: string): Promise<Transaction> {
  const tx = await Transaction.begin(repo);
  try {
    await fetchContentInto(new MemoryFetcher(files), tx, cs);
  } catch (e) {
    await tx.abort();
    throw e;
  }
  return tx;
}

describe("pull object verification", () => {
  it("verifyMetadata() checks the hash, the structure and normal form", () => {
    const good = encodeDirtree({ files: [], dirs: [] });
    verifyMetadata("dirtree", sha256Hex(good), good);
    expect(() => verifyMetadata("dirtree", "00".repeat(32), good)).toThrow(
      /^Corrupted dirtree object; checksum expected='0{64}' actual='[0-9a-f]{64}'$/,
    );
    const junk = new Uint8Array([1, 2, 3]);
    expect(() => verifyMetadata("dirtree", sha256Hex(junk), junk)).toThrow(/Invalid/);
  });

  it("a valid .filez (small, received whole, and large, streamed) is staged under its checksum", async () => {
    for (const size of [100, 2 * 1024 * 1024, 3 * 1024 * 1024]) {
      const data = Buffer.alloc(size, 9);
      const cs = checksumContent(reg, data);
      const tx = await fetchOne(
        new Map([[remoteObjectPath("file", cs), filez(reg, size, deflateRawSync(data))]]),
        cs,
      );
      expect(tx.has("file", cs)).toBe(true);
      await tx.commit();
      expect(repo.hasObject("file", cs)).toBe(true);
    }
  });

  it("a decompression bomb (declared size smaller than the data) is refused", async () => {
    const data = Buffer.alloc(4 * 1024 * 1024, 0);
    const cs = checksumContent(reg, data);
    for (const declared of [10, 1024 * 1024]) {
      await expect(
        fetchOne(new Map([[remoteObjectPath("file", cs), filez(reg, declared, deflateRawSync(data))]]), cs),
      ).rejects.toThrow(/Corrupted content object|exceeds the declared/);
    }
  });

  it("data whose hash differs from the name is refused", async () => {
    const data = Buffer.from("hello\n");
    const cs = checksumContent(reg, Buffer.from("other\n"));
    await expect(
      fetchOne(new Map([[remoteObjectPath("file", cs), filez(reg, data.length, deflateRawSync(data))]]), cs),
    ).rejects.toThrow(
      `Corrupted file object; checksum expected='${cs}' actual='${checksumContent(reg, data)}'`,
    );
  });

  it("a symlink object carrying data, a truncated header and an absurd header length are refused", async () => {
    const link: FileHeader = { uid: 0, gid: 0, mode: 0o120777, symlinkTarget: "x", xattrs: [] };
    const cs = checksumContent(link);
    await expect(
      fetchOne(new Map([[remoteObjectPath("file", cs), filez(link, 0, Buffer.from("junk"))]]), cs),
    ).rejects.toThrow(/symlink with data|more than the object can hold/);
    await expect(
      fetchOne(new Map([[remoteObjectPath("file", cs), new Uint8Array([0, 0, 0])]]), cs),
    ).rejects.toThrow(/truncated header/);
    const huge = Buffer.alloc(16);
    huge.writeUInt32BE(0x7fffffff, 0);
    await expect(fetchOne(new Map([[remoteObjectPath("file", cs), huge]]), cs)).rejects.toThrow(
      /header length/,
    );
  });

  it("more compressed bytes than the declared size can need are refused", async () => {
    const data = Buffer.alloc(10, 1);
    const cs = checksumContent(reg, data);
    const body = Buffer.concat([deflateRawSync(data), Buffer.alloc(maxCompressedSize(10) + 1)]);
    await expect(
      fetchOne(new Map([[remoteObjectPath("file", cs), filez(reg, 10, body)]]), cs),
    ).rejects.toThrow(/more than the object can hold|bytes the object can hold/);
  });
});
