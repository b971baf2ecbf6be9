/**
 * The delta operation interpreter against a real Transaction: each op, and every hostile input
 * (bad offsets, counts, sizes, checksums, unknown ops) refused with nothing unverified stored.
 */
import { mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { checksumContent, type FileHeader } from "../../../src/core/content-header.js";
import { bsdiff } from "../../../src/delta/bsdiff.js";
import { countOps, executePart, OP } from "../../../src/delta/execute.js";
import type { PartPayload } from "../../../src/delta/part.js";
import type { DeltaObject } from "../../../src/delta/superblock.js";
import { encodeVarint } from "../../../src/delta/varint.js";
import { Repo } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";

let dir: string;
let repo: Repo;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "arbor-delta-exec-")));
  repo = Repo.create(join(dir, "repo"), { mode: "archive" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const REG: FileHeader = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };
const enc = new TextEncoder();

function ops(...items: Array<number | number[]>): Uint8Array {
  return Uint8Array.from(items.flatMap((x) => (Array.isArray(x) ? x.flatMap(encodeVarint) : [x])));
}

function payload(blob: Uint8Array, opBytes: Uint8Array): PartPayload {
  return {
    modes: [
      { uid: 0, gid: 0, mode: 0o100644 },
      { uid: 0, gid: 0, mode: 0o120777 },
    ],
    xattrs: [[]],
    blob,
    ops: opBytes,
  };
}

function storedObjects(): number {
  const root = join(repo.path, "objects");
  return readdirSync(root).reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
}

async function run(objects: DeltaObject[], p: PartPayload): Promise<number> {
  const tx = await Transaction.begin(repo);
  try {
    const r = await executePart(tx, objects, p, 0);
    await tx.commit();
    return r.written;
  } catch (e) {
    await tx.abort();
    throw e;
  }
}

const meta = enc.encode("pretend dirmeta bytes");
const data = enc.encode("file content\n");
const metaObj: DeltaObject = { type: "dirmeta", checksum: sha256Hex(meta) };
const fileObj: DeltaObject = { type: "file", checksum: checksumContent(REG, data) };
const blob = Buffer.concat([meta, data]);

describe("executePart()", () => {
  it("rebuilds metadata and content with S, and a symlink from its target", async () => {
    const target = enc.encode("some/where");
    const link: DeltaObject = {
      type: "file",
      checksum: checksumContent({ ...REG, mode: 0o120777, symlinkTarget: "some/where" }),
    };
    const b = Buffer.concat([blob, target]);
    const o = ops(
      OP.openSpliceClose,
      [meta.length, 0],
      OP.openSpliceClose,
      [0, 0, data.length, meta.length],
      OP.openSpliceClose,
      [1, 0, target.length, meta.length + data.length],
    );
    expect(await run([metaObj, fileObj, link], payload(b, o))).toBe(3);
    expect(repo.hasObject("dirmeta", metaObj.checksum)).toBe(true);
    expect(repo.hasObject("file", fileObj.checksum)).toBe(true);
    expect(repo.hasObject("file", link.checksum)).toBe(true);
    expect(countOps(payload(b, o), 0, [metaObj, fileObj, link]).openspliceclose).toBe(3);
  });

  it("rebuilds content with o/w/c, and from a local object with r/B/R", async () => {
    const o1 = ops(
      OP.open,
      [0, 0, data.length],
      OP.write,
      [5, meta.length],
      OP.write,
      [data.length - 5, meta.length + 5],
      OP.close,
    );
    expect(await run([fileObj], payload(blob, o1))).toBe(1);
    const neu = enc.encode("file CONTENT\n and more");
    const patch = bsdiff(data, neu);
    const srcCs = Buffer.from(fileObj.checksum, "hex");
    const b = Buffer.concat([srcCs, patch]);
    const target: DeltaObject = { type: "file", checksum: checksumContent(REG, neu) };
    const o2 = ops(
      OP.setReadSource,
      [0],
      OP.open,
      [0, 0, neu.length],
      OP.bspatch,
      [32, patch.length],
      OP.close,
      OP.unsetReadSource,
    );
    expect(await run([target], payload(b, o2))).toBe(1);
    expect(repo.hasObject("file", target.checksum)).toBe(true);
    // w from the read source
    const tail: DeltaObject = { type: "file", checksum: checksumContent(REG, data.subarray(5)) };
    const o3 = ops(
      OP.setReadSource,
      [0],
      OP.open,
      [0, 0, data.length - 5],
      OP.write,
      [data.length - 5, 5],
      OP.close,
      OP.unsetReadSource,
    );
    expect(await run([tail], payload(srcCs, o3))).toBe(1);
  });

  it("refuses a bspatch into a huge declared size without allocating it, storing nothing", async () => {
    const tx = await Transaction.begin(repo);
    await tx.writeContent(REG, data, fileObj.checksum);
    await tx.commit();
    const before = storedObjects();
    const patch = bsdiff(data, enc.encode("file CONTENT\n"));
    const b = Buffer.concat([Buffer.from(fileObj.checksum, "hex"), patch]);
    const o = ops(OP.setReadSource, [0], OP.open, [0, 0, 2 ** 50], OP.bspatch, [32, patch.length]);
    await expect(run([{ type: "file", checksum: "1".repeat(64) }], payload(b, o))).rejects.toThrow(
      /bsdiff patch of \d+ bytes cannot produce 1125899906842624 bytes/,
    );
    expect(storedObjects()).toBe(before);
  });

  const hostile: Array<[string, DeltaObject[], Uint8Array, RegExp]> = [
    [
      "an offset past the blob",
      [metaObj],
      ops(OP.openSpliceClose, [meta.length, blob.length]),
      /past the end/,
    ],
    ["a length past the blob", [metaObj], ops(OP.openSpliceClose, [blob.length + 1, 0]), /past the end/],
    ["a huge varint offset", [metaObj], ops(OP.openSpliceClose, [4, 2 ** 52]), /past the end/],
    ["a truncated varint", [metaObj], Uint8Array.of(OP.openSpliceClose, 0x85), /truncated varint/],
    [
      "more objects rebuilt than listed",
      [metaObj],
      ops(OP.openSpliceClose, [meta.length, 0], OP.openSpliceClose, [meta.length, 0]),
      /more than the 1 objects/,
    ],
    [
      "fewer objects rebuilt than listed",
      [metaObj, fileObj],
      ops(OP.openSpliceClose, [meta.length, 0]),
      /rebuild 1 objects, the header lists 2/,
    ],
    [
      "metadata that does not match its checksum",
      [{ type: "dirmeta", checksum: "0".repeat(64) }],
      ops(OP.openSpliceClose, [meta.length, 0]),
      /Corrupted dirmeta/,
    ],
    [
      "content that does not match its checksum",
      [{ type: "file", checksum: "0".repeat(64) }],
      ops(OP.openSpliceClose, [0, 0, data.length, meta.length]),
      /Corrupted file object; checksum expected='0{64}'/,
    ],
    [
      "a mode index out of range",
      [fileObj],
      ops(OP.openSpliceClose, [7, 0, data.length, meta.length]),
      /mode index 7 out of range/,
    ],
    [
      "an xattr index out of range",
      [fileObj],
      ops(OP.openSpliceClose, [0, 3, data.length, meta.length]),
      /xattr index 3 out of range/,
    ],
    ["an unknown operation", [metaObj], Uint8Array.of(0x5a), /unknown operation 0x5a/],
    [
      "writes beyond the declared size",
      [fileObj],
      ops(OP.open, [0, 0, 2], OP.write, [3, 0]),
      /exceed the declared size/,
    ],
    [
      "a close before all data arrived",
      [fileObj],
      ops(OP.open, [0, 0, data.length], OP.write, [2, meta.length], OP.close),
      /got 2 bytes, declared/,
    ],
    ["an object never closed", [fileObj], ops(OP.open, [0, 0, 1]), /never closed/],
    ["w with no open object", [fileObj], ops(OP.write, [1, 0]), /w with no open object/],
    ["c with no open object", [fileObj], ops(OP.close), /c with no open object/],
    [
      "B with no read source",
      [fileObj],
      ops(OP.open, [0, 0, 1], OP.bspatch, [0, 1]),
      /B with no read source/,
    ],
    ["o for a metadata object", [metaObj], ops(OP.open, [0, 0, 1]), /o for dirmeta/],
    ["o with a symlink mode", [fileObj], ops(OP.open, [1, 0, 1]), /non-regular/],
    [
      "a read source that is not in the repository",
      [fileObj],
      ops(OP.setReadSource, [0]),
      /read source .* is not in the repository/,
    ],
  ];
  for (const [what, objs, o, re] of hostile) {
    it(`refuses ${what}, storing nothing`, async () => {
      await expect(run(objs, payload(blob, o))).rejects.toThrow(re);
      expect(storedObjects()).toBe(0);
    });
  }
});
