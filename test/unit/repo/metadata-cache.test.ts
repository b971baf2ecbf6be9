import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Repo } from "../../../src/repo/repo.js";
import { makeHistory, tmp } from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-metadata-cache-");
});
afterEach(() => t.cleanup());

describe("Repo tree-metadata caches", () => {
  it("decodes each dirmeta once per Repo object (checkout, ls, diff, export share it)", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const meta = repo.loadCommit(commits[0]!).rootMeta;
    const a = repo.loadDirmeta(meta);
    expect(repo.loadDirmeta(meta)).toBe(a);
    const fresh = Repo.open(repo.path);
    expect(fresh.loadDirmeta(meta)).not.toBe(a);
    expect(fresh.loadDirmeta(meta)).toEqual(a);
  });

  it("keeps decoded dirtrees only when the owner opts in (dirtreeCache)", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const tree = repo.loadCommit(commits[0]!).rootTree;
    const a = repo.loadDirtree(tree);
    expect(repo.loadDirtree(tree)).not.toBe(a);
    expect(repo.loadDirtree(tree)).toEqual(a);
    repo.dirtreeCache = new Map();
    const b = repo.loadDirtree(tree);
    expect(repo.loadDirtree(tree)).toBe(b);
    expect(repo.dirtreeCache.get(tree)).toBe(b);
  });

  it("does not keep a dirmeta that failed to load", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const missing = "0".repeat(64);
    expect(() => repo.loadDirmeta(missing)).toThrow(expect.objectContaining({ code: "OBJECT_NOT_FOUND" }));
    expect(() => repo.loadDirmeta(missing)).toThrow(expect.objectContaining({ code: "OBJECT_NOT_FOUND" }));
  });
});
