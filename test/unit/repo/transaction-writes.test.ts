/**
 * Transaction writes that run off the main thread (writeMetadataAsync, batched content writes) and
 * the memory of objects found absent: an object stored by another writer after `has()` said it
 * was absent is written and published again, the same bytes under the same name.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { encodeDirmeta } from "../../../src/core/metadata.js";
import { isArborError } from "../../../src/errors.js";
import { readFileDataSync, statFileObject } from "../../../src/repo/read-object.js";
import { Repo, type RepoMode } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";
import { tmp } from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-txw-");
});
afterEach(() => t.cleanup());

const file = (mode = 0o100644) => ({ uid: 0, gid: 0, mode, symlinkTarget: "", xattrs: [] });
const readContent = (repo: Repo, cs: string) => Buffer.from(readFileDataSync(statFileObject(repo, cs)));
const dirmeta = () => encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] });

describe.each<RepoMode>(["bare-user", "archive"])("transaction writes (%s)", (mode) => {
  it("stores an object another writer stored after has() found it absent, and publishes it", async () => {
    const repo = Repo.create(join(t.dir, `r-${mode}`), { mode });
    const data = Buffer.from("the same bytes\n");
    // learn the checksum, then start afresh
    const probe = await Transaction.begin(repo);
    const cs = await probe.writeContent(file(), data);
    await probe.abort();

    const mine = await Transaction.begin(repo);
    expect(mine.has("file", cs)).toBe(false); // remembered as absent from here on
    // meanwhile another transaction stores it
    const other = await Transaction.begin(repo);
    await other.writeContent(file(), data);
    await other.commit();
    expect(repo.hasObject("file", cs)).toBe(true);
    // this one writes it again (it does not look on disk twice) and publishes it over the first
    expect(await mine.writeContent(file(), data, cs)).toBe(cs);
    expect(mine.stats.contentWritten).toBe(1);
    await mine.commit();
    expect(repo.hasObject("file", cs)).toBe(true);
  });

  it("writeMetadataAsync stores a verified metadata object, 0644, and refuses bytes that are not it", async () => {
    const repo = Repo.create(join(t.dir, `m-${mode}`), { mode });
    const bytes = dirmeta();
    const cs = sha256Hex(bytes);
    const tx = await Transaction.begin(repo);
    const e = await tx.writeMetadataAsync("dirmeta", bytes, "0".repeat(64)).catch((x: unknown) => x);
    expect(isArborError(e) && e.code).toBe("OBJECT_CORRUPT");
    expect(await tx.writeMetadataAsync("dirmeta", bytes, cs)).toBe(cs);
    expect(await tx.writeMetadataAsync("dirmeta", bytes, cs)).toBe(cs); // once only
    expect(tx.stats.metadataWritten).toBe(1);
    await tx.commit();
    const p = repo.objectPath(cs, "dirmeta");
    expect(readFileSync(p).equals(Buffer.from(bytes))).toBe(true);
    expect(statSync(p).mode & 0o7777).toBe(0o644);
    expect(repo.readMetadata("dirmeta", cs).length).toBe(bytes.length);
  });
});

it("bare-user symlink objects are regular files holding the target, through the batched writer", async () => {
  const repo = Repo.create(join(t.dir, "links"), { mode: "bare-user" });
  const tx = await Transaction.begin(repo);
  const writes = Array.from({ length: 10 }, (_, i) =>
    tx.writeContent({ ...file(0o120777), symlinkTarget: `../target-${i}` }, new Uint8Array(0)),
  );
  const sums = await Promise.all(writes);
  await tx.commit();
  sums.forEach((cs, i) => {
    const p = repo.objectPath(cs, "file");
    expect(statSync(p).isFile()).toBe(true);
    expect(readFileSync(p, "utf8")).toBe(`../target-${i}\0`);
  });
});

describe.each<RepoMode>(["bare-user", "bare", "archive"])("writeDeflatedContent (%s)", (mode) => {
  const data = Buffer.from("a pulled object's data\n".repeat(300));
  const h = file(0o100755);

  it("stores the inflated object under its checksum, the same as writeContent would", async () => {
    const repo = Repo.create(join(t.dir, `d-${mode}`), { mode });
    const probe = await Transaction.begin(repo);
    const cs = await probe.writeContent(h, data);
    await probe.abort();
    const tx = await Transaction.begin(repo);
    await tx.writeDeflatedContent(h, deflateRawSync(data), data.length, cs);
    expect(tx.has("file", cs)).toBe(true);
    expect(tx.stats.contentWritten).toBe(1);
    expect(tx.stats.contentBytesWritten).toBe(data.length);
    await tx.commit();
    expect(readContent(repo, cs).equals(data)).toBe(true);
    expect(statFileObject(repo, cs).header.mode).toBe(0o100755);
  });

  it("refuses a body that is not the object, in words naming it, and stages nothing", async () => {
    const repo = Repo.create(join(t.dir, `e-${mode}`), { mode });
    const probe = await Transaction.begin(repo);
    const cs = await probe.writeContent(h, data);
    const other = await probe.writeContent(h, Buffer.from("something else"));
    await probe.abort();
    const tx = await Transaction.begin(repo);
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: unknown) => e,
      );
    // another object's body: checksum mismatch in ostree's words
    const wrong = await failure(tx.writeDeflatedContent(h, deflateRawSync("something else"), 14, cs));
    expect(isArborError(wrong) && wrong.code).toBe("OBJECT_CORRUPT");
    expect(String((wrong as Error).message)).toBe(
      `Corrupted file object; checksum expected='${cs}' actual='${other}'`,
    );
    // a declared size the body does not have, a cut-short body
    for (const [body, size, re] of [
      [deflateRawSync(data), data.length + 1, /^Corrupted content object [0-9a-f]{64}: data is \d+ bytes/],
      [
        deflateRawSync(data).subarray(0, 40),
        data.length,
        /^Corrupted content object [0-9a-f]{64}: cannot decompress/,
      ],
      [deflateRawSync(data), 10, /^Corrupted content object [0-9a-f]{64}: /],
    ] as const) {
      const e = await failure(tx.writeDeflatedContent(h, body, size, cs));
      expect(isArborError(e) && e.code).toBe("OBJECT_CORRUPT");
      expect((e as Error).message).toMatch(re);
    }
    expect(tx.has("file", cs)).toBe(false);
    await tx.commit();
    expect(repo.hasObject("file", cs)).toBe(false);
  });
});

describe("writeContentStream into an archive repository", () => {
  const big = (n: number) => Buffer.alloc(n, 0x61);
  async function* chunks(parts: Buffer[], failAfter = Number.POSITIVE_INFINITY) {
    let i = 0;
    for (const p of parts) {
      if (i++ >= failAfter) throw new Error("source broke");
      yield p;
    }
  }
  const staged = (repo: Repo) =>
    readdirSync(join(repo.path, "tmp"), { recursive: true, withFileTypes: true }).filter(
      (e) => e.isFile() && e.name.startsWith("tmp-"),
    );

  it("compresses a streamed object, stored as one written whole", async () => {
    const repo = Repo.create(join(t.dir, "s-ok"), { mode: "archive" });
    const tx = await Transaction.begin(repo);
    const parts = [big(3 << 20), big(3 << 20), big(1 << 20)];
    const cs = await tx.writeContentStream(file(), 7 << 20, chunks(parts));
    await tx.commit();
    expect(readContent(repo, cs).equals(Buffer.concat(parts))).toBe(true);
  });

  it("refuses more data than declared, and a source that fails, leaving no temp file", async () => {
    const repo = Repo.create(join(t.dir, "s-bad"), { mode: "archive" });
    const tx = await Transaction.begin(repo);
    await expect(
      tx.writeContentStream(file(), 4 << 20, chunks([big(3 << 20), big(3 << 20)])),
    ).rejects.toThrow(/exceeds the declared 4194304 bytes/);
    await expect(
      tx.writeContentStream(file(), 6 << 20, chunks([big(3 << 20), big(3 << 20)], 1)),
    ).rejects.toThrow(/source broke/);
    expect(staged(repo)).toEqual([]);
    await tx.abort();
  });
});

it("a streamed archive object that runs out of space fails with NO_SPACE (it does not hang) and leaves no temp file", async (ctx) => {
  const mnt = join(t.dir, "small-fs");
  mkdirSync(mnt);
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt]).status !== 0) ctx.skip();
  try {
    const repo = Repo.create(join(mnt, "repo"), { mode: "archive" });
    const tx = await Transaction.begin(repo);
    async function* noise() {
      for (let i = 0; i < 8; i++) yield randomBytes(1 << 20); // incompressible
    }
    const e = await tx.writeContentStream(file(), 8 << 20, noise()).catch((x: unknown) => x);
    expect(isArborError(e) && e.code).toBe("NO_SPACE");
    expect(
      readdirSync(join(repo.path, "tmp"), { recursive: true }).filter((n) => String(n).includes("tmp-")),
    ).toEqual([]);
    await tx.abort();
  } finally {
    spawnSync("umount", [mnt]);
  }
});
