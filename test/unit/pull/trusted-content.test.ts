import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { TransientError } from "../../../src/pull/fetcher.js";
import { remoteObjectPath } from "../../../src/pull/objects.js";
import {
  boundedBody,
  fetchTrustedContentInto,
  MAX_TRUSTED_CONTENT_SIZE,
  trustedHttpDirect,
} from "../../../src/pull/trusted-content.js";
import { Repo } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";
import { MemoryFetcher } from "./_fetcher.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-trusted-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function* chunks(...parts: number[]): AsyncGenerator<Uint8Array> {
  for (const n of parts) yield new Uint8Array(n).fill(7);
}

async function drain(it: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of it) n += c.length;
  return n;
}

const CS = "ab".repeat(32);

describe("trustedHttpDirect()", () => {
  it("is true only for --mirror --http-trusted into archive over HTTP without --bareuseronly-files", () => {
    const base = { httpTrusted: true, mirror: true, archive: true };
    expect(trustedHttpDirect(base)).toBe(true);
    expect(trustedHttpDirect({ ...base, httpTrusted: false })).toBe(false);
    expect(trustedHttpDirect({ ...base, mirror: false })).toBe(false);
    expect(trustedHttpDirect({ ...base, archive: false })).toBe(false);
    expect(trustedHttpDirect({ ...base, bareUserOnlyFiles: true })).toBe(false);
    expect(trustedHttpDirect({ ...base, local: true })).toBe(false);
  });
});

describe("boundedBody()", () => {
  it("passes a body of exactly its Content-Length, or without one under the cap", async () => {
    expect(await drain(boundedBody(chunks(3, 4), CS, 7))).toBe(7);
    expect(await drain(boundedBody(chunks(3, 4), CS, undefined, 7))).toBe(7);
  });

  it("refuses more bytes than the Content-Length", async () => {
    await expect(drain(boundedBody(chunks(3, 5), CS, 7))).rejects.toThrow(
      `Cannot fetch content object ${CS}: more than the 7 bytes its Content-Length`,
    );
  });

  it("refuses a body over the cap, announced or not", async () => {
    await expect(drain(boundedBody(chunks(1), CS, 11, 10))).rejects.toThrow(
      /the server announces 11 bytes, more than the 10 an unverified object may have/,
    );
    await expect(drain(boundedBody(chunks(6, 6), CS, undefined, 10))).rejects.toThrow(
      /more than the 10 bytes an unverified object may have/,
    );
  });

  it("reports a body shorter than its Content-Length as a transient failure (retried)", async () => {
    const e = await drain(boundedBody(chunks(3), CS, 7)).catch((x) => x);
    expect(e).toBeInstanceOf(TransientError);
    expect(String(e.message)).toMatch(/Download incomplete \(3 of 7 bytes\)/);
  });

  it("has a cap of 16 GiB", () => {
    expect(MAX_TRUSTED_CONTENT_SIZE).toBe(16 * 1024 ** 3);
  });
});

describe("fetchTrustedContentInto()", () => {
  function staged(tx: Transaction): string[] {
    return readdirSync(tx.stagingDir);
  }

  it("stores the fetched bytes as they are, under the name, durably at commit", async () => {
    const repo = Repo.create(join(dir, "repo"), { mode: "archive" });
    const junk = new Uint8Array(200_000).map((_, i) => (i * 31) & 0xff); // not even an archive header
    const fetcher = new MemoryFetcher(new Map([[remoteObjectPath("file", CS), junk]]));
    const tx = await Transaction.begin(repo);
    await fetchTrustedContentInto(fetcher, tx, CS);
    expect(tx.has("file", CS)).toBe(true);
    await tx.commit();
    const p = repo.objectPath(CS, "file");
    expect(Buffer.compare(readFileSync(p), junk)).toBe(0);
  });

  it("leaves nothing staged when the body is refused", async () => {
    const repo = Repo.create(join(dir, "repo"), { mode: "archive" });
    const fetcher = new MemoryFetcher(new Map([[remoteObjectPath("file", CS), new Uint8Array(10)]]));
    // a stream that sends more than it announces
    fetcher.stream = async () => ({
      length: 4,
      cancel: () => {},
      body: chunks(4, 4),
    });
    const tx = await Transaction.begin(repo);
    await expect(fetchTrustedContentInto(fetcher, tx, CS)).rejects.toThrow(/its Content-Length/);
    expect(tx.has("file", CS)).toBe(false);
    expect(staged(tx)).toEqual([]);
    await tx.abort();
  });

  it("a missing object is NOT_FOUND", async () => {
    const repo = Repo.create(join(dir, "repo"), { mode: "archive" });
    const tx = await Transaction.begin(repo);
    const e = await fetchTrustedContentInto(new MemoryFetcher(new Map()), tx, CS).catch((x) => x);
    expect(isArborError(e, "NOT_FOUND")).toBe(true);
    await tx.abort();
  });

  it("the transaction refuses it for a non-archive repository or a bad name", async () => {
    const repo = Repo.create(join(dir, "bu"), { mode: "bare-user" });
    const tx = await Transaction.begin(repo);
    await expect(tx.writeTrustedArchiveContent(CS, chunks(1))).rejects.toThrow(
      /only archive content objects/,
    );
    await tx.abort();
    const arch = Repo.create(join(dir, "repo"), { mode: "archive" });
    const tx2 = await Transaction.begin(arch);
    for (const bad of ["../../etc/passwd", "AB".repeat(32), "ab".repeat(31)])
      await expect(tx2.writeTrustedArchiveContent(bad, chunks(1))).rejects.toThrow(/Cannot store/);
    expect(existsSync(join(dir, "etc"))).toBe(false);
    expect(staged(tx2)).toEqual([]);
    await tx2.abort();
  });

  it("an object already stored is not fetched again", async () => {
    const repo = Repo.create(join(dir, "repo"), { mode: "archive" });
    const tx = await Transaction.begin(repo);
    expect(await tx.writeTrustedArchiveContent(CS, chunks(5))).toBe(true);
    let read = false;
    const body = (async function* () {
      read = true;
      yield new Uint8Array(1);
    })();
    expect(await tx.writeTrustedArchiveContent(CS, body)).toBe(false);
    expect(read).toBe(false);
    await tx.commit();
    expect(readFileSync(repo.objectPath(CS, "file")).length).toBe(5);
  });
});
