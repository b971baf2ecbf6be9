import { mkdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { encodeCommit, encodeDirtree } from "../../../src/core/metadata.js";
import { isArborError } from "../../../src/errors.js";
import { DIRTREE } from "../../../src/gvariant/formats.js";
import { serialize } from "../../../src/gvariant/index.js";
import { acquireLock } from "../../../src/io/lock.js";
import { native } from "../../../src/io/native.js";
import { commitTree } from "../../../src/repo/commit.js";
import { type FsckOptions, type FsckResult, type FsckWarning, fsckRepo } from "../../../src/repo/fsck.js";
import { fsckObject } from "../../../src/repo/fsck-object.js";
import { readRef, writeRefFile } from "../../../src/repo/refs.js";
import { Repo, type RepoMode } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";
import {
  dirtreeChecksum,
  fileChecksum,
  flipByte,
  type History,
  makeHistory,
  tmp,
  userXattrsWork,
} from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-fsck-");
});
afterEach(() => t.cleanup());

const isRoot = process.getuid?.() === 0;
/** bare-user repos need user xattrs on the temp filesystem. */
const XATTRS = userXattrsWork(tmpdir());

async function run(
  repo: Repo,
  opts: FsckOptions = {},
): Promise<{ r: FsckResult; warnings: FsckWarning[]; phases: string[] }> {
  const warnings: FsckWarning[] = [];
  const phases: string[] = [];
  const r = await fsckRepo(repo, {
    ...opts,
    onWarning: (w) => warnings.push(w),
    onProgress: (p) => {
      if (p.done === undefined) phases.push(p.phase);
    },
  });
  return { r, warnings, phases };
}

async function fails(repo: Repo, opts: FsckOptions = {}): Promise<Error & { code?: string }> {
  try {
    await fsckRepo(repo, opts);
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error("fsck did not fail");
}

const modes: RepoMode[] = ["archive", "bare-user", "bare-user-only", ...(isRoot ? (["bare"] as const) : [])];

describe("fsckRepo() on sound repositories", () => {
  for (const mode of modes) {
    it.skipIf(mode === "bare-user" && !XATTRS)(
      `passes a clean ${mode} repository and checks every object once`,
      async () => {
        const { repo, commits } = await makeHistory(t.dir, mode, 3, { bigBytes: 5 * 1024 * 1024 + 17 });
        const { r, warnings, phases } = await run(repo);
        expect(warnings).toEqual([]);
        expect(r.ok).toBe(true);
        expect(r.commits).toBe(3);
        expect(r.errors).toEqual([]);
        expect(phases).toEqual(["refs", "collection-refs", "enumerate", "verify"]);
        // 3 commits share most objects; each is checked once
        const { listLooseObjects } = await import("../../../src/repo/traverse.js");
        expect(r.objectsChecked).toBe(listLooseObjects(repo).length);
        expect(commits).toHaveLength(3);
      },
    );
  }

  it("counts a partial commit (e.g. from --commit-metadata-only) without error", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    writeFileSync(repo.commitPartialPath(commits[0]!), "");
    unlinkSync(repo.objectPath(fileChecksum(repo, commits[0]!, "a.txt"), "file"));
    const { r, warnings } = await run(repo);
    expect(warnings).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.commits).toBe(1);
    expect(r.partialNotVerified).toBe(1);
  });

  it("is quiet about phases with `quiet` but still reports progress counts", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const seen: Array<number | undefined> = [];
    await fsckRepo(repo, { quiet: true, onProgress: (p) => seen.push(p.done) });
    expect(seen.every((d) => d !== undefined)).toBe(true);
    expect(seen.length).toBeGreaterThan(0);
  });
});

describe("fsckRepo() finds and names corruption", () => {
  it("a flipped byte in a .filez, with the commits containing it, as ostree words it", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    const cs = fileChecksum(repo, commits[0]!, "sub/b.txt"); // in both commits
    flipByte(repo.objectPath(cs, "file"), -3);
    const e = await fails(repo);
    expect(e.code).toBe("OBJECT_CORRUPT");
    expect(e.message).toMatch(
      new RegExp(`^In commits [0-9a-f]{64}, [0-9a-f]{64}: fsck content object ${cs}: `),
    );
    for (const c of commits) expect(e.message).toContain(c);
  });

  it.skipIf(!XATTRS)(
    "a flipped byte in a .file (bare-user): checksum mismatch with the actual checksum",
    async () => {
      const { repo, commits } = await makeHistory(t.dir, "bare-user", 1);
      const cs = fileChecksum(repo, commits[0]!, "a.txt");
      flipByte(repo.objectPath(cs, "file"), 0);
      const e = await fails(repo);
      expect(e.message).toMatch(
        new RegExp(
          `fsck content object ${cs}: Corrupted file object; checksum expected='${cs}' actual='[0-9a-f]{64}'$`,
        ),
      );
    },
  );

  it("a flipped byte in a .dirtree, without inventing missing objects from the garbage", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const sub = dirtreeChecksum(repo, commits[0]!, "sub/deeper");
    flipByte(repo.objectPath(sub, "dirtree"), 3); // inside the checksum of c.txt
    const { r, warnings } = await run(repo, { all: true });
    expect(r.ok).toBe(false);
    expect(r.errors.map((x) => [x.object, x.kind])).toEqual([[`${sub}.dirtree`, "corrupt"]]);
    expect(r.errors[0]!.message).toMatch(
      `fsck ${sub}.dirtree: Corrupted dirtree object; checksum expected='${sub}'`,
    );
    expect(warnings.some((w) => w.kind === "marked-partial")).toBe(false);
    expect(r.error).toBe("Repository corruption encountered");
  });

  it("a flipped byte in a commit reached through a ref, and in one reached through history", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    flipByte(repo.objectPath(commits[1]!, "commit"), 10);
    const e = await fails(repo);
    expect(e.message).toMatch(
      new RegExp(`^fsck ${commits[1]}.commit: Corrupted commit object; checksum expected='${commits[1]}'`),
    );
    flipByte(repo.objectPath(commits[1]!, "commit"), 10); // restore
    flipByte(repo.objectPath(commits[0]!, "commit"), 10);
    const { r } = await run(repo, { all: true });
    expect(r.errors.map((x) => x.message)).toEqual([
      expect.stringMatching(
        new RegExp(`^In commits ${commits[0]}: fsck ${commits[0]}.commit: Corrupted commit object`),
      ),
    ]);
    expect(r.commits).toBe(2);
  });

  it("a truncated and an empty archive object, in ostree's words", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const a = fileChecksum(repo, commits[0]!, "a.txt");
    const b = fileChecksum(repo, commits[0]!, "sub/b.txt");
    truncateSync(repo.objectPath(a, "file"), 10);
    writeFileSync(repo.objectPath(b, "file"), "");
    const { r } = await run(repo, { all: true });
    const by = new Map(r.errors.map((x) => [x.checksum, x]));
    expect(by.get(a)!.reason).toMatch(/^File header size \d+ exceeds size 10$/);
    expect(by.get(b)!.kind).toBe("corrupt");
    expect(by.get(b)!.message).toContain(`fsck content object ${b}: `);
  });

  it("an archive header declaring more or fewer bytes than the intact data holds", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const more = fileChecksum(repo, commits[0]!, "a.txt");
    const fewer = fileChecksum(repo, commits[0]!, "sub/b.txt");
    const setSize = (cs: string, delta: bigint) => {
      const p = repo.objectPath(cs, "file");
      const b = readFileSync(p);
      b.writeBigUInt64BE(b.readBigUInt64BE(8) + delta, 8);
      writeFileSync(p, b);
    };
    setSize(more, 1n);
    setSize(fewer, -1n); // inflating then overflows the declared size: everything is still hashed
    const { r } = await run(repo, { all: true });
    const by = new Map(r.errors.map((x) => [x.checksum, x.reason]));
    expect(by.get(more)).toBe("archive header says 10 bytes, data is 9 bytes"); // "hello v0\n"
    expect(by.get(fewer)).toBe("archive header says 9 bytes, data is 10 bytes");
  });

  it("a deflate stream cut short, in GLib's words (as ostree prints them)", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const cs = fileChecksum(repo, commits[0]!, "sub/b.txt");
    const p = repo.objectPath(cs, "file");
    truncateSync(p, readFileSync(p).length - 2);
    const { r } = await run(repo, { all: true });
    expect(r.errors.map((x) => x.reason)).toEqual(["Need more input"]);
  });

  it("a corrupted large (streamed) archive object", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1, { bigBytes: 6 * 1024 * 1024 });
    const cs = fileChecksum(repo, commits[0]!, "big.bin");
    flipByte(repo.objectPath(cs, "file"), -100);
    const { r } = await run(repo, { all: true });
    expect(r.errors.map((x) => x.checksum)).toEqual([cs]);
  });

  it.skipIf(!XATTRS)("a bad, missing or lying user.ostreemeta (bare-user)", async () => {
    const { repo, commits } = await makeHistory(t.dir, "bare-user", 1);
    const [a, b, c] = ["a.txt", "sub/b.txt", "sub/deeper/c.txt"].map((p) =>
      fileChecksum(repo, commits[0]!, p),
    );
    native().lsetxattr(repo.objectPath(a!, "file"), "user.ostreemeta", new Uint8Array([1, 2]));
    native().lremovexattr(repo.objectPath(b!, "file"), "user.ostreemeta");
    const meta = native().lgetxattr(repo.objectPath(c!, "file"), "user.ostreemeta")!;
    meta.writeUInt32BE(0o100755, 8); // claims a different mode
    native().lsetxattr(repo.objectPath(c!, "file"), "user.ostreemeta", meta);
    const { r } = await run(repo, { all: true });
    const by = new Map(r.errors.map((x) => [x.checksum, x.reason]));
    expect(by.get(a!)).toMatch(/user\.ostreemeta/);
    expect(by.get(b!)).toMatch(/no user\.ostreemeta/);
    expect(by.get(c!)).toMatch(/^Corrupted file object; checksum expected/);
  });

  it.skipIf(!isRoot)("a wrong mode on a bare object", async () => {
    const { repo, commits } = await makeHistory(t.dir, "bare", 1);
    const cs = fileChecksum(repo, commits[0]!, "a.txt");
    const { chmodSync } = await import("node:fs");
    chmodSync(repo.objectPath(cs, "file"), 0o645);
    const e = await fails(repo);
    expect(e.message).toContain(`fsck content object ${cs}: Corrupted file object`);
  });

  it("a path-traversal name in a dirtree whose hash matches (ostree's message)", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const tx = await Transaction.begin(repo);
    const file = await tx.writeContent(
      { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] },
      new Uint8Array([1]),
    );
    const bad = serialize(DIRTREE, [[["../afile", Buffer.from(file, "hex")]], []]);
    const tree = tx.writeMetadata("dirtree", bad);
    const root = repo.loadCommit(readRef(repo, "main")!);
    const commit = tx.writeMetadata(
      "commit",
      encodeCommit({
        metadata: [],
        parent: null,
        related: [],
        subject: "evil",
        body: "",
        timestamp: 0,
        rootTree: tree,
        rootMeta: root.rootMeta,
      }),
    );
    await tx.commit();
    const e = await fails(repo);
    expect(e.message).toBe(
      `In commits ${commit}: fsck ${tree}.dirtree: ${tree}.dirtree: Invalid / in filename ../afile`,
    );
  });

  it("metadata that is not in normal form although its hash matches", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    // an empty dirtree in normal form is one byte 00; two bytes hash to their own name but are not normal
    const bytes = new Uint8Array([0, 0]);
    const cs = sha256Hex(bytes);
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(repo.path, "objects", cs.slice(0, 2)), { recursive: true });
    writeFileSync(repo.objectPath(cs, "dirtree"), bytes);
    await expect(fsckObject(repo, "dirtree", cs)).rejects.toThrow(
      `fsck ${cs}.dirtree: ${cs}.dirtree: Not normal form`,
    );
    expect(encodeDirtree({ files: [], dirs: [] })).toEqual(new Uint8Array([0]));
  });

  it("stops at the first corruption by default, reports all with `all`", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    for (const p of ["a.txt", "sub/b.txt", "sub/deeper/c.txt"])
      flipByte(repo.objectPath(fileChecksum(repo, commits[0]!, p), "file"), -2);
    await fails(repo);
    const { r, warnings } = await run(repo, { all: true });
    expect(r.errors).toHaveLength(3);
    expect(warnings.filter((w) => w.kind === "corrupt")).toHaveLength(3);
    expect(r.ok).toBe(false);
  });
});

describe("fsckRepo() and missing objects", () => {
  it("reports a missing object, marks the commits needing it partial with 'f', and fails the next run", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    const cs = fileChecksum(repo, commits[1]!, "a.txt"); // only in the newest commit
    unlinkSync(repo.objectPath(cs, "file"));
    const { r, warnings } = await run(repo);
    expect(warnings.map((w) => w.message)).toEqual([
      `Object missing in commits ${commits[1]}: ${cs}.file`,
      `Marking commit as partial: ${commits[1]}`,
    ]);
    expect(r.error).toBe("Repository corruption encountered");
    expect(readFileSync(repo.commitPartialPath(commits[1]!), "utf8")).toBe("f");
    expect(r.markedPartial).toEqual([commits[1]]);
    const again = await run(repo);
    expect(again.warnings).toEqual([]);
    expect(again.r.error).toBe("1 partial commits from fsck-detected corruption");
    expect(again.r.commits).toBe(1);
  });

  it("reports a missing dirtree of a complete commit as missing, not as a crash", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const sub = dirtreeChecksum(repo, commits[0]!, "sub");
    unlinkSync(repo.objectPath(sub, "dirtree"));
    const { r } = await run(repo);
    expect(r.errors.map((x) => x.message)).toEqual([
      `Object missing in commits ${commits[0]}: ${sub}.dirtree`,
    ]);
  });

  it("stops on a ref whose commit is missing, as ostree", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    unlinkSync(repo.objectPath(commits[0]!, "commit"));
    const e = await fails(repo);
    expect(e.message).toBe(`Loading commit for ref main: No such metadata object ${commits[0]}.commit`);
  });
});

describe("fsckRepo({ delete })", () => {
  it("deletes corrupt objects, marks commits partial, and a re-commit restores them", async () => {
    const h: History = await makeHistory(t.dir, "archive", 1);
    const { repo, commits } = h;
    const cs = fileChecksum(repo, commits[0]!, "sub/deeper/c.txt");
    flipByte(repo.objectPath(cs, "file"), -2);
    const { r, warnings } = await run(repo, { delete: true });
    expect(r.deleted).toEqual([`${cs}.file`]);
    expect(repo.hasObject("file", cs)).toBe(false);
    expect(warnings.map((w) => w.kind)).toEqual(["corrupt", "marked-partial"]);
    expect(r.ok).toBe(false);
    expect((await run(repo)).r.error).toBe("1 partial commits from fsck-detected corruption");
    // committing the same tree writes the object again
    await commitTree(repo, {
      trees: [{ kind: "dir", path: join(h.work, "v0") }],
      branch: "other",
      ownerUid: 0,
      ownerGid: 0,
    });
    expect(repo.hasObject("file", cs)).toBe(true);
    await fsckObject(repo, "file", cs);
    unlinkSync(repo.commitPartialPath(commits[0]!)); // what a completed pull does
    expect((await run(repo)).r.ok).toBe(true);
  });
});

describe("fsckRepo() bindings and tombstones", () => {
  it("verifyBindings: a ref whose commit is not bound to it", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    expect((await run(repo, { verifyBindings: true })).r.ok).toBe(true);
    writeRefFile(repo, "other", commits[0]!);
    const e = await fails(repo, { verifyBindings: true });
    expect(e.message).toBe(
      `Commit ${commits[0]}: Commit has no requested ref ‘other’ in ref binding metadata (‘main’)`,
    );
  });

  it("verifyBackRefs: a bound ref that moved on", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    const { r } = await run(repo, { verifyBackRefs: true, all: true });
    expect(r.errors.map((x) => x.message)).toEqual([
      `Ref ‘main’ in bindings for commit ${commits[0]} does not resolve to that commit`,
    ]);
  });

  it("addTombstones: writes tombstones for missing parents, keeps the children, enables the config", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    unlinkSync(repo.objectPath(commits[0]!, "commit"));
    const { r, warnings } = await run(repo, { addTombstones: true });
    expect(r.ok).toBe(true);
    expect(r.tombstones).toEqual([commits[0]]);
    expect(warnings.map((w) => w.message)).toEqual([`Adding tombstone for commit ${commits[0]}`]);
    expect(repo.hasObject("tombstone-commit", commits[0]!)).toBe(true);
    expect(repo.hasObject("commit", commits[1]!)).toBe(true);
    expect(repo.config.getBool("core", "tombstone-commits", false)).toBe(true);
  });
});

describe("fsckRepo() on worker threads", () => {
  it("gives the same verdicts as in-process verification on a large tree", async () => {
    const repo = Repo.create(join(t.dir, "big"), { mode: "bare-user-only" });
    const src = join(t.dir, "big-src");
    for (let d = 0; d < 30; d++) {
      mkdirSync(join(src, `d${d}`), { recursive: true });
      for (let f = 0; f < 70; f++) writeFileSync(join(src, `d${d}`, `f${f}`), `file ${d}/${f}\n`);
    }
    const { commit } = await commitTree(repo, { trees: [{ kind: "dir", path: src }], branch: "main" });
    const bad = fileChecksum(repo, commit, "d3/f7");
    const gone = fileChecksum(repo, commit, "d20/f1");
    flipByte(repo.objectPath(bad, "file"), 0);
    unlinkSync(repo.objectPath(gone, "file"));
    const summary = (r: FsckResult) => r.errors.map((e) => [e.object, e.kind, e.message]).sort();
    const here = await fsckRepo(repo, { all: true, workers: 0 });
    unlinkSync(repo.commitPartialPath(commit)); // marked by the first run
    const there = await fsckRepo(repo, { all: true, workers: 2 });
    expect(here.workers).toBe(0);
    expect(there.workers).toBe(2);
    expect(summary(there)).toEqual(summary(here));
    expect(summary(there).map((e) => e[0])).toEqual([`${bad}.file`, `${gone}.file`].sort());
    expect(there.objectsChecked).toBe(here.objectsChecked);
    // stopping at the first corruption also works from a worker
    unlinkSync(repo.commitPartialPath(commit));
    await expect(fsckRepo(repo, { workers: 2 })).rejects.toThrow(`fsck content object ${bad}`);
  });
});

describe("fsckRepo() locking", () => {
  it("waits for, then gives up on, a repo held exclusively (LOCKED)", async () => {
    const { repo } = await makeHistory(t.dir, "archive", 1);
    const lock = await acquireLock(repo.lockPath, "exclusive");
    try {
      const e = await fails(repo, { lockTimeoutMs: 200 });
      expect(isArborError(e, "LOCKED")).toBe(true);
    } finally {
      lock.release();
    }
  });
});
