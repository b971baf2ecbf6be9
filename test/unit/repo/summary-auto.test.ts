import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commitTree } from "../../../src/repo/commit.js";
import { pruneRepo } from "../../../src/repo/prune.js";
import { setRefImmediate } from "../../../src/repo/ref-immediate.js";
import { addRemote } from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";
import { decodeSummary, updateSummary } from "../../../src/repo/summary.js";
import { summaryCacheDir } from "../../../src/repo/summary-cache.js";

let dir: string;
let repo: Repo;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-sumauto-"));
  repo = Repo.create(join(dir, "repo"), { mode: "archive" });
  mkdirSync(join(dir, "t"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function commit(branch: string, content: string): Promise<string> {
  writeFileSync(join(dir, "t", "f"), content);
  return (await commitTree(repo, { trees: [{ kind: "dir", path: join(dir, "t") }], branch })).commit;
}

function summaryRefs(): string[] {
  const s = decodeSummary(readFileSync(join(repo.path, "summary")));
  return s.refs.map((r) => `${r.ref}=${r.checksum}`);
}

function setKey(key: string, value: string): void {
  repo.config.set("core", key, value);
  repo.saveConfig();
}

describe("core.auto-update-summary", () => {
  it("is off by default: a commit leaves the summary alone", async () => {
    await commit("a", "1");
    await updateSummary(repo);
    const before = readFileSync(join(repo.path, "summary"));
    await commit("a", "2");
    expect(Buffer.compare(readFileSync(join(repo.path, "summary")), before)).toBe(0);
  });

  it("regenerates the summary after a transaction moves a ref, and drops a stale summary.sig", async () => {
    await commit("a", "1");
    setKey("auto-update-summary", "true");
    writeFileSync(join(repo.path, "summary.sig"), "stale");
    const c2 = await commit("a", "2");
    expect(summaryRefs()).toEqual([`a=${c2}`]);
    expect(existsSync(join(repo.path, "summary.sig"))).toBe(false);
  });

  it("regenerates it after a ref written outside a transaction (setRefImmediate), set or deleted", async () => {
    const c1 = await commit("a", "1");
    await setRefImmediate(repo, "b", c1);
    expect(existsSync(join(repo.path, "summary"))).toBe(false); // off: nothing written
    setKey("auto-update-summary", "true");
    await setRefImmediate(repo, "c", c1);
    expect(summaryRefs()).toEqual([`a=${c1}`, `b=${c1}`, `c=${c1}`]);
    await setRefImmediate(repo, "b", null);
    expect(summaryRefs()).toEqual([`a=${c1}`, `c=${c1}`]);
  });

  it("honours the deprecated alias core.commit-update-summary", async () => {
    setKey("commit-update-summary", "true");
    const c1 = await commit("b", "1");
    expect(summaryRefs()).toEqual([`b=${c1}`]);
  });

  it("is not triggered by a transaction that moved no ref", async () => {
    setKey("auto-update-summary", "true");
    await commitTree(repo, { trees: [{ kind: "dir", path: join(dir, "t") }], orphan: true });
    expect(existsSync(join(repo.path, "summary"))).toBe(false);
  });
});

describe("prune and the summary cache", () => {
  it("removes cached summaries of remotes that no longer exist, keeps the others", async () => {
    addRemote(repo, { name: "kept", url: "http://127.0.0.1:1/" });
    const cache = summaryCacheDir(repo);
    mkdirSync(cache, { recursive: true });
    for (const n of ["kept", "kept.sig", "gone", "gone.sig"]) writeFileSync(join(cache, n), "x");
    const r = await pruneRepo(repo, { refsOnly: true });
    expect(r.summaryCachesRemoved).toEqual(["gone", "gone.sig"]);
    expect(existsSync(join(cache, "kept"))).toBe(true);
    expect(existsSync(join(cache, "kept.sig"))).toBe(true);
    expect(existsSync(join(cache, "gone"))).toBe(false);
  });

  it("keeps the cache on a dry run (--no-prune)", async () => {
    const cache = summaryCacheDir(repo);
    mkdirSync(cache, { recursive: true });
    writeFileSync(join(cache, "gone"), "x");
    await pruneRepo(repo, { noPrune: true });
    expect(existsSync(join(cache, "gone"))).toBe(true);
  });
});
