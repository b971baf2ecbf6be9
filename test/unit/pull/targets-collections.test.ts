/**
 * Collection–refs in pull targets (src/pull/targets.ts) and where a mirror pull writes them
 * (src/repo/refs.ts): the summary's collection ID, its collection map, pinned collection–refs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checksumToBytes } from "../../../src/core/checksum.js";
import { Variant } from "../../../src/gvariant/index.js";
import { readDestination, refDestination, resolvePullTargets } from "../../../src/pull/targets.js";
import { KeyFile } from "../../../src/repo/config.js";
import { readCollectionRef, readRef, writeCollectionRef } from "../../../src/repo/refs.js";
import { Remote } from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";
import { decodeSummary, encodeSummary, SUMMARY_KEYS, type Summary } from "../../../src/repo/summary.js";
import { MemoryFetcher } from "./_fetcher.js";

const C1 = "1".repeat(64);
const C2 = "2".repeat(64);
const C3 = "3".repeat(64);
const remote = new Remote("origin", KeyFile.parse(`[remote "origin"]\nurl=http://x/\n`), null);
const fetcher = new MemoryFetcher(new Map());

function summary(mainCid: string | null, map: Record<string, Array<[string, string]>> = {}): Summary {
  const entry = ([ref, cs]: [string, string]) => [ref, [1n, checksumToBytes(cs), []]];
  const meta: Array<[string, Variant]> = [];
  if (mainCid !== null) meta.push([SUMMARY_KEYS.collectionId, new Variant("s", mainCid)]);
  if (Object.keys(map).length)
    meta.push([
      SUMMARY_KEYS.collectionMap,
      new Variant(
        "a{sa(s(taya{sv}))}",
        Object.entries(map).map(([cid, refs]) => [cid, refs.map(entry)]),
      ),
    ]);
  return decodeSummary(
    encodeSummary({ refs: [{ ref: "main", commitSize: 1, checksum: C1, metadata: [] }], metadata: meta }),
  );
}

describe("resolvePullTargets with collections", () => {
  it("a ref resolved through the summary carries the summary's collection ID", async () => {
    expect(
      await resolvePullTargets(remote, fetcher, summary("org.example.Main"), { refs: ["main"] }),
    ).toEqual([{ ref: "main", commit: C1, collectionId: "org.example.Main" }]);
    expect(await resolvePullTargets(remote, fetcher, summary(null), { refs: ["main"] })).toEqual([
      { ref: "main", commit: C1, collectionId: undefined },
    ]);
    // REF@CHECKSUM: no collection (ostree writes it under refs/heads in a mirror)
    expect(
      await resolvePullTargets(remote, fetcher, summary("org.example.Main"), { refs: [`main@${C2}`] }),
    ).toEqual([{ ref: "main", commit: C2 }]);
  });

  it("a mirror of everything takes the collection map too", async () => {
    const s = summary("org.example.Main", { "org.example.Other": [["o/ref", C2]] });
    expect(await resolvePullTargets(remote, fetcher, s, { mirror: true })).toEqual([
      { ref: "main", commit: C1, collectionId: "org.example.Main" },
      { ref: "o/ref", commit: C2, collectionId: "org.example.Other" },
    ]);
  });

  it("invalid collection IDs in the summary are refused", async () => {
    await expect(resolvePullTargets(remote, fetcher, summary("nodots"), { refs: ["main"] })).rejects.toThrow(
      "Invalid collection ID nodots",
    );
    const s = summary(null, { "bad id": [["x", C2]] });
    await expect(resolvePullTargets(remote, fetcher, s, { mirror: true })).rejects.toThrow(
      "Invalid collection ID bad id",
    );
  });

  it("pinned collection–refs are taken as given (ref names checked)", async () => {
    const pinned = [{ collectionId: "org.example.A", ref: "app", commit: C3 }];
    expect(await resolvePullTargets(remote, fetcher, null, { collectionRefs: pinned })).toEqual([
      { ref: "app", commit: C3, collectionId: "org.example.A" },
    ]);
    await expect(
      resolvePullTargets(remote, fetcher, null, { collectionRefs: [{ ...pinned[0]!, ref: "a^b" }] }),
    ).rejects.toThrow();
  });
});

describe("mirror destinations", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "arbor-colltargets-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("refs/mirrors/COLLECTION, refs/heads for the repository's own collection or none", () => {
    const repo = Repo.create(join(dir, "r"), { mode: "bare-user", collectionId: "org.example.Own" });
    const t = (collectionId?: string) => ({
      ref: "a/b",
      commit: C1,
      ...(collectionId ? { collectionId } : {}),
    });
    expect(refDestination(null, t("org.example.X"))).toEqual({ collectionId: "org.example.X", remote: null });
    expect(refDestination(null, t())).toEqual({ remote: null });
    expect(refDestination("origin", t("org.example.X"))).toEqual({ remote: "origin" });

    writeCollectionRef(repo, "org.example.X", "a/b", C1);
    expect(readCollectionRef(repo, "org.example.X", "a/b")).toBe(C1);
    expect(readDestination(repo, "a/b", refDestination(null, t("org.example.X")))).toBe(C1);
    expect(readRef(repo, "a/b")).toBeNull();
    writeCollectionRef(repo, "org.example.Own", "a/b", C2);
    expect(readRef(repo, "a/b")).toBe(C2);
    expect(readCollectionRef(repo, "org.example.Own", "a/b")).toBe(C2);
    expect(() => readCollectionRef(repo, "bad", "a/b")).toThrow("Invalid collection ID bad");
    expect(() => readCollectionRef(repo, "org.example.X", "../escape")).toThrow();
  });
});
