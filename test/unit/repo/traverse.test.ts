import { mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { encodeDirmeta, encodeDirtree } from "../../../src/core/metadata.js";
import { isArborError } from "../../../src/errors.js";
import { writeRefFile } from "../../../src/repo/refs.js";
import type { Repo } from "../../../src/repo/repo.js";
import {
  listLooseObjects,
  ObjectWalker,
  objectKey,
  parseObjectKey,
  traverseCommit,
  traverseReachable,
} from "../../../src/repo/traverse.js";
import {
  dirtreeChecksum,
  fileChecksum,
  makeHistory,
  putCommit,
  putLooseMetadata,
  tmp,
} from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-traverse-");
});
afterEach(() => t.cleanup());

const ofType = (s: Set<string>, type: string) => [...s].filter((k) => k.endsWith(`.${type}`));

describe("traverseCommit()", () => {
  it("reaches the commit, its root dirtree/dirmeta, every subtree and file", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const s = traverseCommit(repo, commits[0]!);
    const c = repo.loadCommit(commits[0]!);
    expect(s.has(objectKey(commits[0]!, "commit"))).toBe(true);
    expect(s.has(objectKey(c.rootTree, "dirtree"))).toBe(true);
    expect(s.has(objectKey(c.rootMeta, "dirmeta"))).toBe(true);
    expect(s.has(objectKey(fileChecksum(repo, commits[0]!, "sub/deeper/c.txt"), "file"))).toBe(true);
    expect(s.has(objectKey(fileChecksum(repo, commits[0]!, "link"), "file"))).toBe(true);
    // root, sub, sub/deeper, same
    expect(ofType(s, "dirtree")).toHaveLength(4);
    // every reachable object is one listed in the store, and here the store holds nothing else
    expect(new Set(listLooseObjects(repo))).toEqual(s);
  });

  it("follows parents to maxDepth: -1 all, 0 just this commit, N that many", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 3);
    const head = commits[2]!;
    const commitsIn = (d: number) => ofType(traverseCommit(repo, head, { maxDepth: d }), "commit").sort();
    expect(commitsIn(0)).toEqual([objectKey(head, "commit")]);
    expect(commitsIn(1)).toHaveLength(2);
    expect(commitsIn(-1)).toHaveLength(3);
    expect(commitsIn(5)).toHaveLength(3);
  });

  it("tolerates a missing parent commit (partial history)", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    unlinkSync(repo.objectPath(commits[0]!, "commit"));
    const s = traverseCommit(repo, commits[1]!);
    expect(ofType(s, "commit")).toEqual([objectKey(commits[1]!, "commit")]);
  });

  it("ignores a commit that is not stored at all", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    expect(traverseCommit(repo, "ab".repeat(32)).size).toBe(0);
  });

  it("skips a missing dirtree of a partial commit but fails on one of a complete commit", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const sub = dirtreeChecksum(repo, commits[0]!, "sub");
    unlinkSync(repo.objectPath(sub, "dirtree"));
    let err: unknown;
    try {
      traverseCommit(repo, commits[0]!);
    } catch (e) {
      err = e;
    }
    expect(isArborError(err, "OBJECT_NOT_FOUND")).toBe(true);
    expect(String(err)).toContain(`${sub}.dirtree`);
    writeFileSync(repo.commitPartialPath(commits[0]!), "");
    const s = traverseCommit(repo, commits[0]!);
    expect(s.has(objectKey(fileChecksum(repo, commits[0]!, "a.txt"), "file"))).toBe(true);
  });

  it("reads each dirtree once however many commits share it", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 4);
    const spy = vi.spyOn(repo, "readMetadata");
    const w = new ObjectWalker(repo);
    for (const c of commits) w.addCommit(c, 0);
    const reads = spy.mock.calls.filter(([type]) => type === "dirtree").map(([, cs]) => cs);
    expect(new Set(reads).size).toBe(reads.length);
    // "same" and "sub" (b.txt unchanged, deeper differs) — "same" is shared: one read for 4 commits
    const same = dirtreeChecksum(repo, commits[0]!, "same");
    expect(reads.filter((cs) => cs === same)).toHaveLength(1);
  });

  it("walks a 3000-deep chain of directories without overflowing the stack", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const put = (type: "dirtree" | "dirmeta", bytes: Uint8Array) => putLooseMetadata(repo, type, bytes);
    const meta = put("dirmeta", encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] }));
    let tree = put("dirtree", encodeDirtree({ files: [], dirs: [] }));
    for (let i = 0; i < 3000; i++)
      tree = put("dirtree", encodeDirtree({ files: [], dirs: [{ name: "d", tree, meta }] }));
    const commit = putCommit(repo, tree, meta, "deep");
    expect(ofType(traverseCommit(repo, commit), "dirtree")).toHaveLength(3001);
  });

  it("walks further when a later walk allows more depth than an earlier one", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 3);
    const w = new ObjectWalker(repo);
    w.addCommit(commits[1]!, 0);
    w.addCommit(commits[2]!, -1);
    expect(ofType(w.reachable, "commit")).toHaveLength(3);
  });

  it("with verifyHashes, does not follow a dirtree whose bytes do not match its name", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const sub = dirtreeChecksum(repo, commits[0]!, "sub");
    const other = dirtreeChecksum(repo, commits[0]!, "same");
    // replace "sub" with the bytes of "same": valid GVariant, wrong name
    writeFileSync(repo.objectPath(sub, "dirtree"), repo.readMetadata("dirtree", other));
    const unreadable: string[] = [];
    const w = new ObjectWalker(repo, { verifyHashes: true, onUnreadable: (k) => unreadable.push(k) });
    w.addCommit(commits[0]!);
    expect(unreadable).toEqual([objectKey(sub, "dirtree")]);
    expect(w.reachable.has(objectKey(fileChecksum(repo, commits[0]!, "a.txt"), "file"))).toBe(true);
    expect(w.reachable.has(objectKey(fileChecksum(repo, commits[0]!, "same/s.txt"), "file"))).toBe(true);
  });
});

describe("ObjectWalker.commitsOf()", () => {
  it("names every commit that contains an object, through shared dirtrees", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 3);
    const w = new ObjectWalker(repo, { recordParents: true });
    for (const c of commits) w.addCommit(c, 0);
    const shared = objectKey(fileChecksum(repo, commits[0]!, "same/s.txt"), "file");
    expect(w.commitsOf(shared).sort()).toEqual([...commits].sort());
    const own = objectKey(fileChecksum(repo, commits[1]!, "a.txt"), "file");
    expect(w.commitsOf(own)).toEqual([commits[1]]);
    expect(w.commitsOf(objectKey(commits[2]!, "commit"))).toEqual([commits[2]]);
  });
});

describe("traverseReachable()", () => {
  async function setup(): Promise<{ repo: Repo; commits: string[] }> {
    const h = await makeHistory(t.dir, "archive", 3);
    return h;
  }

  it("starts from local, remote and mirror refs, to the given depth", async () => {
    const { repo, commits } = await setup();
    writeRefFile(repo, "main", null);
    expect(traverseReachable(repo).size).toBe(0);
    writeRefFile(repo, "x", commits[0]!, "origin");
    expect(ofType(traverseReachable(repo), "commit")).toEqual([objectKey(commits[0]!, "commit")]);
    writeRefFile(repo, "x", null, "origin");
    // a collection mirror ref
    mkdirSync(`${repo.path}/refs/mirrors/org.example.Os/os`, { recursive: true });
    writeFileSync(`${repo.path}/refs/mirrors/org.example.Os/os/main`, `${commits[2]}\n`);
    expect(ofType(traverseReachable(repo, { depth: 0 }), "commit")).toEqual([
      objectKey(commits[2]!, "commit"),
    ]);
    expect(ofType(traverseReachable(repo, { depth: 1 }), "commit")).toHaveLength(2);
  });

  it("adds extra commits, and can leave the refs out", async () => {
    const { repo, commits } = await setup();
    const s = traverseReachable(repo, { refs: false, extraCommits: [commits[0]!], depth: 0 });
    expect(ofType(s, "commit")).toEqual([objectKey(commits[0]!, "commit")]);
  });

  it("with commitOnly, reaches commits but no tree objects", async () => {
    const { repo } = await setup();
    const s = traverseReachable(repo, { commitOnly: true });
    expect(s.size).toBe(3);
    expect(ofType(s, "commit")).toHaveLength(3);
  });
});

describe("object keys", () => {
  it("round-trip and reject malformed names", () => {
    const cs = "0f".repeat(32);
    expect(parseObjectKey(objectKey(cs, "dirmeta"))).toEqual({ checksum: cs, type: "dirmeta" });
    expect(() => parseObjectKey("abc.file")).toThrow(/Invalid object name/);
    expect(() => parseObjectKey(`${"G".repeat(64)}.file`)).toThrow(/Invalid object name/);
  });

  it("listLooseObjects() ignores stray files and filters by type", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    writeFileSync(`${repo.path}/objects/${commits[0]!.slice(0, 2)}/not-an-object.commit`, "");
    writeFileSync(`${repo.path}/objects/${commits[0]!.slice(0, 2)}/${commits[0]!.slice(2)}.commitmeta`, "");
    expect(listLooseObjects(repo, "commit")).toEqual([objectKey(commits[0]!, "commit")]);
    expect(listLooseObjects(repo).filter((k) => k.includes("commitmeta"))).toEqual([]);
  });
});
