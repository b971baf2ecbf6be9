/** Static delta files fetched by a pull are size-bounded before they are read whole (hostile remotes). */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Superblock } from "../../../src/delta/superblock.js";
import { chooseDelta, type DeltaAccess } from "../../../src/pull/delta-choice.js";
import { applyChosenDelta } from "../../../src/pull/delta-fetch.js";
import { applyLocalDeltas } from "../../../src/pull/delta-local.js";
import { fetcherAccess } from "../../../src/pull/delta-pull.js";
import type { Fetcher, FetchOptions } from "../../../src/pull/fetcher.js";
import { MAX_FETCHED_METADATA_SIZE } from "../../../src/pull/objects.js";
import { deltaDir } from "../../../src/repo/delta-naming.js";
import { Repo } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";

const TO = "ab".repeat(32);
let dir: string;
let repo: Repo;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "arbor-delta-fetch-")));
  repo = Repo.create(join(dir, "repo"), { mode: "bare-user" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** An access that records what it was asked for and finds nothing. */
function recorder(): { calls: Array<[string, number]>; access: DeltaAccess } {
  const calls: Array<[string, number]> = [];
  return {
    calls,
    access: async (p, maxBytes) => {
      calls.push([p, maxBytes]);
      return null;
    },
  };
}

describe("delta fetch size bounds", () => {
  it("fetcherAccess() passes the bound to the fetcher", async () => {
    const seen: FetchOptions[] = [];
    const fetcher = {
      get: async (_base: string, _path: string, opts: FetchOptions = {}) => {
        seen.push(opts);
        return null;
      },
    } as unknown as Fetcher;
    expect(await fetcherAccess(fetcher)("deltas/x/y/0", 1234)).toBeNull();
    expect(seen[0]).toMatchObject({ optional: true, maxBytes: 1234 });
  });

  it("superblocks are bounded as metadata", async () => {
    const r = recorder();
    expect(await chooseDelta(repo, r.access, null, TO, null)).toBeNull();
    expect(r.calls).toEqual([[`${deltaDir({ from: null, to: TO })}/superblock`, MAX_FETCHED_METADATA_SIZE]]);
  });

  it("parts are bounded by the size their superblock header gives", async () => {
    const r = recorder();
    const sb = {
      metadata: [],
      from: null,
      to: TO,
      parts: [
        {
          version: 0,
          checksum: "cd".repeat(32),
          compressedSize: 1234,
          uncompressedSize: 9,
          objects: [{ type: "dirmeta", checksum: "ef".repeat(32) }],
        },
      ],
      fallbacks: [],
    } as unknown as Superblock;
    const tx = await Transaction.begin(repo);
    try {
      await expect(
        applyChosenDelta(tx, r.access, { delta: { from: null, to: TO }, superblock: sb }),
      ).rejects.toThrow(/part 0 not found/);
    } finally {
      await tx.abort();
    }
    expect(r.calls).toEqual([[`${deltaDir({ from: null, to: TO })}/0`, 1234]]);
  });

  it("pull-local refuses an oversized superblock before reading it", async () => {
    const src = Repo.create(join(dir, "src"), { mode: "archive" });
    const d = join(src.path, deltaDir({ from: null, to: TO }));
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "superblock"), "");
    truncateSync(join(d, "superblock"), MAX_FETCHED_METADATA_SIZE + 1);
    await expect(applyLocalDeltas(src, repo, [TO])).rejects.toThrow(
      new RegExp(
        `superblock" is ${MAX_FETCHED_METADATA_SIZE + 1} bytes, more than the ${MAX_FETCHED_METADATA_SIZE}`,
      ),
    );
  });
});
