/** `static-delta apply-offline` on incomplete or hostile deltas: clear errors, nothing stored. */
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { applyDeltaOffline } from "../../../src/delta/apply.js";
import { encodeSuperblock, type Superblock, withEndianness } from "../../../src/delta/superblock.js";
import { Repo } from "../../../src/repo/repo.js";
import { sampleCommit } from "./_fixtures.js";

let dir: string;
let repo: Repo;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "arbor-delta-apply-")));
  repo = Repo.create(join(dir, "repo"), { mode: "bare-user" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function superblock(o: Partial<Superblock>): Uint8Array {
  const commit = sampleCommit();
  return encodeSuperblock({
    metadata: withEndianness([], false),
    timestamp: 1,
    from: null,
    to: sha256Hex(commit),
    commit,
    parts: [],
    fallbacks: [],
    bigEndian: false,
    ...o,
  });
}

const onePart: Superblock["parts"] = [
  {
    version: 0,
    checksum: "d".repeat(64),
    compressedSize: 3,
    uncompressedSize: 3,
    objects: [{ type: "dirmeta", checksum: "e".repeat(64) }],
  },
];

function storedObjects(): number {
  const root = join(repo.path, "objects");
  return readdirSync(root).reduce((n, d) => n + readdirSync(join(root, d)).length, 0);
}

describe("applyDeltaOffline() refuses", () => {
  it("a delta whose source commit is not in the repository", async () => {
    const f = join(dir, "d.delta");
    writeFileSync(f, superblock({ from: "c".repeat(64) }));
    await expect(applyDeltaOffline(repo, f)).rejects.toThrow(
      /Commit c{64}, which is the delta source, is not in repository/,
    );
  });
  it("a missing fallback object", async () => {
    const f = join(dir, "d.delta");
    writeFileSync(
      f,
      superblock({
        fallbacks: [{ type: "file", checksum: "9".repeat(64), compressedSize: 1, uncompressedSize: 1 }],
      }),
    );
    await expect(applyDeltaOffline(repo, f)).rejects.toThrow(
      /fallback object 9{64}\.file is not in the repository/,
    );
  });
  it("a single-file delta whose part is not inline", async () => {
    const f = join(dir, "d.delta");
    writeFileSync(f, superblock({ parts: onePart }));
    await expect(applyDeltaOffline(repo, f)).rejects.toThrow(/part 0 is not inline/);
    expect(storedObjects()).toBe(0);
  });
  it("a delta directory with a part missing, and one with a part that does not match", async () => {
    const d = join(dir, "delta");
    mkdirSync(d);
    writeFileSync(join(d, "superblock"), superblock({ parts: onePart }));
    await expect(applyDeltaOffline(repo, d)).rejects.toThrow(/part ".*\/delta\/0" is missing/);
    writeFileSync(join(d, "0"), "abc");
    await expect(applyDeltaOffline(repo, d)).rejects.toThrow(
      /part 0 checksum is [0-9a-f]{64}, expected d{64}/,
    );
    expect(storedObjects()).toBe(0);
  });
  it("a path that does not exist", async () => {
    await expect(applyDeltaOffline(repo, join(dir, "nope"))).rejects.toThrow(
      /Cannot open static delta ".*nope"/,
    );
  });
});
