import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checksumToBytes } from "../../../src/core/checksum.js";
import { lookup } from "../../../src/core/metadata.js";
import { bswap64 } from "../../../src/gvariant/formats.js";
import { Variant } from "../../../src/gvariant/index.js";
import { commitTree } from "../../../src/repo/commit.js";
import { Repo } from "../../../src/repo/repo.js";
import {
  appendSignatures,
  buildSummary,
  decodeSignatureDict,
  decodeSummary,
  encodeSummary,
  summaryRefTimestamp,
  summaryRefVersion,
  updateSummary,
} from "../../../src/repo/summary.js";

let dir: string;
let repo: Repo;
let tree: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-summary-"));
  repo = Repo.create(join(dir, "repo"), { mode: "archive" });
  tree = join(dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "f"), "hello\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function commit(branch: string, extra: { version?: string; timestamp?: number } = {}): Promise<string> {
  const r = await commitTree(repo, {
    trees: [{ kind: "dir", path: tree }],
    branch,
    subject: branch,
    timestamp: extra.timestamp ?? 1700000000,
    metadata: extra.version ? [["version", new Variant("s", extra.version)]] : [],
  });
  return r.commit;
}

describe("summary", () => {
  it("lists local refs sorted by name with LE commit size, timestamp and version", async () => {
    const b = await commit("zeta");
    const a = await commit("alpha", { version: "1.2", timestamp: 1700000100 });
    const s = decodeSummary(buildSummary(repo, { now: () => 1700000200 }));
    expect(s.refs.map((r) => r.ref)).toEqual(["alpha", "zeta"]);
    expect(s.refs[0]!.checksum).toBe(a);
    expect(s.refs[1]!.checksum).toBe(b);
    expect(s.refs[0]!.commitSize).toBe(repo.readMetadata("commit", a).length);
    expect(summaryRefTimestamp(s.refs[0]!)).toBe(1700000100);
    expect(summaryRefVersion(s.refs[0]!)).toBe("1.2");
    expect(summaryRefVersion(s.refs[1]!)).toBeUndefined();
    const lm = lookup(s.metadata, "ostree.summary.last-modified")!;
    expect(bswap64(lm.value as bigint)).toBe(1700000200n);
    expect(lookup(s.metadata, "ostree.summary.mode")!.value).toBe("archive-z2");
    expect(lookup(s.metadata, "ostree.summary.indexed-deltas")!.value).toBe(true);
  });

  it("stores the commit size little-endian (the summary quirk)", async () => {
    const c = await commit("main");
    const bytes = buildSummary(repo, { now: () => 1 });
    const size = repo.readMetadata("commit", c).length;
    const at = Buffer.from(bytes).indexOf(Buffer.from(checksumToBytes(c)));
    // the t precedes the checksum, 8-aligned, little-endian
    expect(Buffer.from(bytes).readBigUInt64LE(at - 8)).toBe(BigInt(size));
  });

  it("leaves out remote refs", async () => {
    const c = await commit("main");
    mkdirSync(join(repo.path, "refs/remotes/origin"), { recursive: true });
    writeFileSync(join(repo.path, "refs/remotes/origin/other"), `${c}\n`);
    expect(decodeSummary(buildSummary(repo)).refs.map((r) => r.ref)).toEqual(["main"]);
  });

  it("round-trips through encode/decode", async () => {
    await commit("main", { version: "9" });
    const b = buildSummary(repo, { now: () => 5 });
    expect(Buffer.compare(Buffer.from(encodeSummary(decodeSummary(b))), Buffer.from(b))).toBe(0);
  });

  it("decodeSummary() rejects hostile ref names and short checksums", () => {
    const bad = encodeSummary({
      refs: [{ ref: "../../etc", commitSize: 1, checksum: "00".repeat(32), metadata: [] }],
      metadata: [],
    });
    expect(() => decodeSummary(bad)).toThrow(/bad ref name/);
    expect(() => decodeSummary(new Uint8Array([1, 2, 3]))).toThrow(/Invalid summary/);
  });

  it("updateSummary() signs, aligns summary mtime on the sig and removes a stale sig", async () => {
    await commit("main");
    const signer = { metadataKey: "ostree.sign.dummy", sign: async () => [new TextEncoder().encode("k")] };
    const s = await updateSummary(repo, { signers: [signer] });
    expect(Buffer.compare(readFileSync(join(repo.path, "summary")), Buffer.from(s))).toBe(0);
    const sig = decodeSignatureDict(readFileSync(join(repo.path, "summary.sig")));
    expect(lookup(sig, "ostree.sign.dummy")!.type).toBe("aay");
    expect(statSync(join(repo.path, "summary")).mtimeMs).toBe(
      statSync(join(repo.path, "summary.sig")).mtimeMs,
    );
    expect(repo.config.get("core", "indexed-deltas")).toBe("true");
    await updateSummary(repo);
    expect(existsSync(join(repo.path, "summary.sig"))).toBe(false);
  });

  it("updateSummary() fails clearly when a ref's commit is missing", async () => {
    mkdirSync(join(repo.path, "refs/heads"), { recursive: true });
    writeFileSync(join(repo.path, "refs/heads/ghost"), `${"ab".repeat(32)}\n`);
    await expect(updateSummary(repo)).rejects.toThrow(/abab/);
  });

  it("appendSignatures() keeps other keys and appends to the list", () => {
    const d1 = appendSignatures(null, "ostree.gpgsigs", [new Uint8Array([1])]);
    const d2 = appendSignatures([...d1, ["other", new Variant("s", "x")]], "ostree.gpgsigs", [
      new Uint8Array([2]),
    ]);
    expect(lookup(d2, "other")!.value).toBe("x");
    expect((lookup(d2, "ostree.gpgsigs")!.value as Uint8Array[]).map((b) => b[0])).toEqual([1, 2]);
  });
});
