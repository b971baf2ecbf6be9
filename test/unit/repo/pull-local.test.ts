import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeDirtree, encodeVarDict } from "../../../src/core/metadata.js";
import { Variant } from "../../../src/gvariant/serialize.js";
import { native } from "../../../src/io/native.js";
import { commitTree } from "../../../src/repo/commit.js";
import { fsckRepo } from "../../../src/repo/fsck.js";
import { bytesHeldByCopy, pullLocal } from "../../../src/repo/pull-local.js";
import { sameFile } from "../../../src/repo/pull-local-source.js";
import { readRef, writeRefFile } from "../../../src/repo/refs.js";
import { Repo, type RepoMode } from "../../../src/repo/repo.js";
import { STREAM_THRESHOLD } from "../../../src/repo/transaction.js";

let tmp: string;
beforeEach(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-pull-local-")));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

let n = 0;
function tree(files: Record<string, string>): string {
  const dir = join(tmp, `tree${n++}`);
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(join(dir, p, ".."), { recursive: true });
    fs.writeFileSync(join(dir, p), content);
  }
  return dir;
}

async function commit(
  repo: Repo,
  branch: string,
  files: Record<string, string>,
  extra = {},
): Promise<string> {
  const r = await commitTree(repo, {
    trees: [{ kind: "dir", path: tree(files) }],
    branch,
    timestamp: 1700000000 + n,
    ...extra,
  });
  return r.commit;
}

/** Every loose object file under objects/, relative. */
function objects(repo: Repo): string[] {
  const out: string[] = [];
  for (const d of fs.readdirSync(join(repo.path, "objects"))) {
    for (const f of fs.readdirSync(join(repo.path, "objects", d))) out.push(`${d}/${f}`);
  }
  return out.sort();
}

function repoAt(name: string, mode: RepoMode): Repo {
  return Repo.create(join(tmp, name), { mode });
}

describe("pullLocal()", () => {
  it("copies every branch of the source with all its objects, across modes", async () => {
    const src = repoAt("src", "archive");
    const c1 = await commit(src, "one", { "a/f": "x\n", top: "z\n" });
    const c2 = await commit(src, "two", { "a/f": "changed\n", b: "y" });
    const dst = repoAt("dst", "bare-user");
    const r = await pullLocal(src, dst);
    expect(r.pulled).toEqual([
      { ref: "one", commit: c1 },
      { ref: "two", commit: c2 },
    ]);
    expect(readRef(dst, "one")).toBe(c1);
    expect(readRef(dst, "two")).toBe(c2);
    expect(r.contentImported).toBe(4);
    expect(r.contentLinked).toBe(0);
    expect(r.contentBytesWritten).toBe(2 + 2 + 8 + 1);
    expect(dst.listPartialCommits()).toEqual([]);
    // Same object names on both sides (content objects differ only in extension).
    const names = (repo: Repo) => objects(repo).map((o) => o.replace(/\.filez?$/, ".file"));
    expect(names(dst)).toEqual(names(src));
    const again = await pullLocal(src, dst);
    expect(again.metadataImported + again.contentImported).toBe(0);
  });

  it("writes refs under refs/remotes with a remote, and under refs/heads with mirror", async () => {
    const src = repoAt("src", "bare");
    const c = await commit(src, "main", { f: "1" });
    const dst = repoAt("dst", "bare");
    await pullLocal(src, dst, { refs: ["main"], remote: "origin" });
    expect(readRef(dst, "main", "origin")).toBe(c);
    expect(readRef(dst, "main")).toBeNull();
    fs.writeFileSync(join(src.path, "summary"), "not really a summary");
    await pullLocal(src, dst, { remote: "origin", mirror: true });
    expect(readRef(dst, "main")).toBe(c);
    expect(fs.readFileSync(join(dst.path, "summary"), "utf8")).toBe("not really a summary");
  });

  it("pulls a commit by checksum without writing a ref", async () => {
    const src = repoAt("src", "archive");
    const c = await commit(src, "main", { f: "1" });
    const dst = repoAt("dst", "archive");
    await pullLocal(src, dst, { refs: [c] });
    expect(dst.hasObject("commit", c)).toBe(true);
    expect(fs.readdirSync(join(dst.path, "refs/heads"))).toEqual([]);
  });

  it("follows history to the requested depth and stops where the source's history ends", async () => {
    const src = repoAt("src", "archive");
    const cs: string[] = [];
    for (let i = 0; i < 4; i++) cs.push(await commit(src, "main", { f: `${i}` }));
    const dst = repoAt("dst", "bare-user");
    await pullLocal(src, dst, { refs: ["main"], depth: 1 });
    expect(cs.map((c) => dst.hasObject("commit", c))).toEqual([false, false, true, true]);
    fs.rmSync(src.objectPath(cs[1]!, "commit"));
    const dst2 = repoAt("dst2", "bare-user");
    await pullLocal(src, dst2, { refs: ["main"], depth: -1 });
    expect(cs.map((c) => dst2.hasObject("commit", c))).toEqual([false, false, true, true]);
  });

  it("with commitMetadataOnly copies the commit and marks it partial until a full pull", async () => {
    const src = repoAt("src", "archive");
    const c = await commit(src, "main", { "d/f": "1" });
    const dst = repoAt("dst", "archive");
    const r = await pullLocal(src, dst, { commitMetadataOnly: true });
    expect(r.metadataImported).toBe(1);
    expect(dst.isCommitPartial(c)).toBe(true);
    expect(readRef(dst, "main")).toBe(c);
    await pullLocal(src, dst);
    expect(dst.isCommitPartial(c)).toBe(false);
    expect(objects(dst).length).toBe(objects(src).length);
  });

  it("copies detached metadata, and updates it when the source's changed", async () => {
    const src = repoAt("src", "bare");
    const meta = [["note", new Variant("s", "one")]] as Array<[string, Variant]>;
    const c = await commit(src, "main", { f: "1" }, { detachedMetadata: meta });
    const dst = repoAt("dst", "bare");
    await pullLocal(src, dst);
    expect(dst.loadCommitMeta(c)).toEqual(src.loadCommitMeta(c));
    fs.writeFileSync(src.objectPath(c, "commitmeta"), encodeVarDict([["note", new Variant("s", "two")]]));
    await pullLocal(src, dst);
    expect(dst.loadCommitMeta(c)?.[0]?.[1].value).toBe("two");
  });

  it("refuses a ref its commit is not bound to, unless told not to check", async () => {
    const src = repoAt("src", "archive");
    const c = await commit(src, "main", { f: "1" });
    writeRefFile(src, "other", c);
    const dst = repoAt("dst", "archive");
    await expect(pullLocal(src, dst, { refs: ["other"] })).rejects.toMatchObject({
      code: "SIGNATURE_INVALID",
      message: `Commit ${c}: Commit has no requested ref ‘other’ in ref binding metadata (‘main’)`,
    });
    expect(objects(dst)).toEqual([]);
    await pullLocal(src, dst, { refs: ["other"], disableVerifyBindings: true });
    expect(readRef(dst, "other")).toBe(c);
  });

  it("hard-links objects between repositories of the same format, after verifying them", async () => {
    for (const mode of ["archive", "bare", "bare-user", "bare-user-only"] as const) {
      const src = repoAt(`src-${mode}`, mode);
      const c = await commit(src, "main", { f: "data", "d/g": "more" });
      const dst = repoAt(`dst-${mode}`, mode);
      const r = await pullLocal(src, dst);
      expect(r.contentLinked).toBe(2);
      expect(r.contentBytesWritten).toBe(0);
      const f = src.loadDirtree(src.loadCommit(c).rootTree).files[0]!;
      const a = fs.lstatSync(src.objectPath(f.checksum, "file"));
      const b = fs.lstatSync(dst.objectPath(f.checksum, "file"));
      expect(b.ino).toBe(a.ino);
    }
  });

  it("hard-links metadata objects across modes, as ostree does", async () => {
    const src = repoAt("src", "archive");
    const c = await commit(src, "main", { f: "1" });
    const dst = repoAt("dst", "bare-user");
    const r = await pullLocal(src, dst);
    expect(r.metadataImported).toBe(3);
    expect(fs.statSync(dst.objectPath(c, "commit")).ino).toBe(fs.statSync(src.objectPath(c, "commit")).ino);
    expect(r.contentLinked).toBe(0);
  });

  it("refuses to link a file that changed after it was verified", async () => {
    const f = join(tmp, "obj");
    fs.writeFileSync(f, "verified");
    const before = fs.lstatSync(f);
    expect(() => sameFile(before, f, "x")).not.toThrow();
    fs.rmSync(f);
    fs.writeFileSync(join(tmp, "other"), "swapped!");
    fs.renameSync(join(tmp, "other"), f);
    expect(() => sameFile(before, f, "x")).toThrow(expect.objectContaining({ code: "OBJECT_CORRUPT" }));
  });

  it("refuses mode bits outside 0775 with bareUserOnlyFiles", async () => {
    const src = repoAt("src", "bare");
    const dir = tree({ f: "1" });
    fs.chmodSync(join(dir, "f"), 0o4755);
    await commitTree(src, { trees: [{ kind: "dir", path: dir }], branch: "main" });
    const dst = repoAt("dst", "bare");
    await expect(pullLocal(src, dst, { bareUserOnlyFiles: true })).rejects.toMatchObject({
      code: "UNSUPPORTED",
      message: expect.stringContaining("invalid mode 0104755 with bits 04000"),
    });
    expect(objects(dst)).toEqual([]);
  });

  it("refuses setuid content in a bare-user-only repo, in ostree's words, storing nothing", async () => {
    const src = repoAt("src", "bare");
    const dir = tree({ f: "1" });
    fs.chmodSync(join(dir, "f"), 0o4644);
    await commitTree(src, { trees: [{ kind: "dir", path: dir }], branch: "main" });
    const dst = repoAt("dst", "bare-user-only");
    await expect(pullLocal(src, dst)).rejects.toMatchObject({
      code: "UNSUPPORTED",
      message: expect.stringMatching(/Content object [0-9a-f]{64}: invalid mode 0104644 with bits 04000/),
    });
    expect(objects(dst)).toEqual([]);
  });

  it("names a missing ref and an invalid one", async () => {
    const src = repoAt("src", "bare");
    const dst = repoAt("dst", "bare");
    await expect(pullLocal(src, dst, { refs: ["nope"] })).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(pullLocal(src, dst, { refs: ["origin:main"] })).rejects.toMatchObject({ code: "BAD_REF" });
    await expect(pullLocal(src, dst, { refs: ["../x"] })).rejects.toMatchObject({ code: "BAD_REF" });
  });

  it("asks for a remote before GPG verification and refuses unsigned commits", async () => {
    const src = repoAt("src", "archive");
    await commit(src, "main", { f: "1" });
    const dst = repoAt("dst", "archive");
    await expect(pullLocal(src, dst, { gpgVerify: true })).rejects.toMatchObject({ code: "USAGE" });
    await expect(pullLocal(src, dst, { gpgVerify: true, remote: "o" })).rejects.toMatchObject({
      code: "SIGNATURE_MISSING",
    });
    await expect(pullLocal(src, dst, { gpgVerifySummary: true, remote: "o" })).rejects.toMatchObject({
      code: "SIGNATURE_MISSING",
    });
    expect(objects(dst)).toEqual([]);
  });
});

describe("pullLocal() with a hostile source", () => {
  for (const [srcMode, dstMode] of [
    ["bare", "archive"],
    ["archive", "bare-user"],
    ["bare", "bare"],
    ["archive", "archive"],
  ] as const) {
    it(`refuses a corrupted content object (${srcMode} → ${dstMode}), naming it, keeping nothing`, async () => {
      const src = repoAt("src", srcMode);
      const c = await commit(src, "main", { f: "good data", g: "other" });
      const f = src.loadDirtree(src.loadCommit(c).rootTree).files.find((x) => x.name === "f")!;
      const p = src.objectPath(f.checksum, "file");
      if (srcMode === "archive") {
        // Same size, different (valid) deflate data: rewrite the object with other content.
        const { encodeArchiveHeader } = await import("../../../src/core/content-header.js");
        const { deflateRawSync } = await import("node:zlib");
        const { statFileObject } = await import("../../../src/repo/read-object.js");
        const h = statFileObject(src, f.checksum).header;
        fs.writeFileSync(p, Buffer.concat([encodeArchiveHeader(h, 9), deflateRawSync("evil data")]));
      } else {
        fs.appendFileSync(p, "!");
      }
      const dst = repoAt("dst", dstMode);
      const err = await pullLocal(src, dst).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "OBJECT_CORRUPT", message: expect.stringContaining(f.checksum) });
      expect(objects(dst)).toEqual([]);
      expect(readRef(dst, "main")).toBeNull();
      expect(dst.listPartialCommits()).toEqual([]);
      expect(fs.readdirSync(join(dst.path, "tmp")).filter((x) => x.startsWith("staging-"))).toEqual([]);
    });
  }

  it("refuses a corrupted dirtree", async () => {
    const src = repoAt("src", "archive");
    const c = await commit(src, "main", { "d/f": "1", g: "2" });
    const sub = src.loadDirtree(src.loadCommit(c).rootTree).dirs[0]!;
    fs.writeFileSync(src.objectPath(sub.tree, "dirtree"), encodeDirtree({ files: [], dirs: [] }));
    const dst = repoAt("dst", "archive");
    await expect(pullLocal(src, dst)).rejects.toMatchObject({
      code: "OBJECT_CORRUPT",
      message: expect.stringContaining(sub.tree),
    });
    expect(objects(dst)).toEqual([]);
  });

  it("refuses a commit object that does not hash to its name", async () => {
    const src = repoAt("src", "archive");
    const c1 = await commit(src, "main", { f: "1" });
    const c2 = await commit(src, "other", { f: "2" });
    fs.copyFileSync(src.objectPath(c2, "commit"), src.objectPath(c1, "commit"));
    const dst = repoAt("dst", "archive");
    await expect(pullLocal(src, dst, { refs: ["main"] })).rejects.toMatchObject({
      code: "OBJECT_CORRUPT",
      message: expect.stringContaining(c1),
    });
    expect(objects(dst)).toEqual([]);
  });
});

describe("pullLocal() copying between modes", () => {
  /** Each object's bytes, mode bits and user.ostreemeta, by name. */
  function snapshot(repo: Repo): Record<string, string> {
    const out: Record<string, string> = {};
    for (const o of objects(repo)) {
      const p = join(repo.path, "objects", o);
      const st = fs.lstatSync(p);
      const data = st.isSymbolicLink() ? `-> ${fs.readlinkSync(p)}` : fs.readFileSync(p).toString("base64");
      const meta = repo.mode === "bare-user" ? native().lgetxattr(p, "user.ostreemeta")?.toString("hex") : "";
      out[o] = `${(st.mode & 0o7777).toString(8)} ${meta} ${data}`;
    }
    return out;
  }

  function bigTree(): string {
    const dir = tree({ "a/empty": "", "a/x": "x\n", "b/c/d": "deep\n" });
    for (let i = 0; i < 40; i++) fs.writeFileSync(join(dir, "a", `f${i}`), `file ${i}\n`.repeat(i * 50));
    fs.chmodSync(join(dir, "a/f3"), 0o755);
    fs.symlinkSync("../a/x", join(dir, "b/link"));
    // one object above the streaming threshold: left to the main thread
    fs.writeFileSync(join(dir, "big"), Buffer.alloc(STREAM_THRESHOLD + 5, 7));
    return dir;
  }

  for (const [srcMode, dstMode] of [
    ["archive", "bare-user"],
    ["archive", "bare-user-only"],
    ["bare-user", "archive"],
  ] as const) {
    it(`stores the same whatever the number of copies in flight (${srcMode} → ${dstMode})`, async () => {
      const src = repoAt("src", srcMode);
      const { commit: c } = await commitTree(src, {
        trees: [{ kind: "dir", path: bigTree() }],
        branch: "main",
      });
      const here = repoAt("here", dstMode);
      const there = repoAt("there", dstMode);
      const a = await pullLocal(src, here, { concurrency: 1 });
      const b = await pullLocal(src, there, { concurrency: 8 });
      expect(a.contentImported).toBeGreaterThan(40);
      expect(a.contentLinked).toBe(0);
      expect(b).toEqual(a);
      expect(readRef(there, "main")).toBe(c);
      expect(snapshot(there)).toEqual(snapshot(here));
      expect((await fsckRepo(there, { workers: 0 })).ok).toBe(true);
      expect(fs.readdirSync(join(there.path, "tmp")).filter((x) => x.startsWith("staging-"))).toEqual([]);
    });
  }

  it("copies an archive source's many small and large objects alike (read ahead in groups, or one by one)", async () => {
    const src = repoAt("src", "archive");
    const files: Record<string, string> = {};
    // more objects than one read-ahead group, plus ones too large to be read ahead
    for (let i = 0; i < 80; i++) files[`d/f${i}`] = `file ${i}\n`.repeat(i + 1);
    files.big = randomBytes(400 * 1024).toString("base64");
    files.empty = "";
    const c = await commit(src, "main", files);
    const dst = repoAt("dst", "bare-user");
    await pullLocal(src, dst, { untrusted: true });
    expect(readRef(dst, "main")).toBe(c);
    expect((await fsckRepo(dst, { workers: 0 })).ok).toBe(true);
    expect(objects(dst).filter((o) => o.endsWith(".file"))).toHaveLength(82);
  });

  it("names a content object missing from an archive source", async () => {
    const src = repoAt("src", "archive");
    const c = await commit(src, "main", { f: "good data", g: "other" });
    const f = src.loadDirtree(src.loadCommit(c).rootTree).files.find((x) => x.name === "f")!;
    fs.rmSync(src.objectPath(f.checksum, "file"));
    const dst = repoAt("dst", "bare-user");
    const err = await pullLocal(src, dst).catch((e: unknown) => e);
    expect(err).toMatchObject({
      message: expect.stringContaining(`Cannot pull content object ${f.checksum}`),
    });
    expect(readRef(dst, "main")).toBeNull();
  });

  it("refuses a corrupted content object copied between modes, naming it, keeping nothing", async () => {
    const src = repoAt("src", "archive");
    const c = await commit(src, "main", { f: "good data", g: "other", "d/h": "more" });
    const f = src.loadDirtree(src.loadCommit(c).rootTree).files.find((x) => x.name === "f")!;
    const { encodeArchiveHeader } = await import("../../../src/core/content-header.js");
    const { deflateRawSync } = await import("node:zlib");
    const { statFileObject } = await import("../../../src/repo/read-object.js");
    const h = statFileObject(src, f.checksum).header;
    fs.writeFileSync(
      src.objectPath(f.checksum, "file"),
      Buffer.concat([encodeArchiveHeader(h, 9), deflateRawSync("evil data")]),
    );
    const dst = repoAt("dst", "bare-user");
    const err = await pullLocal(src, dst).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: "OBJECT_CORRUPT",
      message: expect.stringContaining(`Cannot pull content object ${f.checksum}`),
    });
    expect(objects(dst)).toEqual([]);
    expect(readRef(dst, "main")).toBeNull();
    expect(dst.listPartialCommits()).toEqual([]);
    expect(fs.readdirSync(join(dst.path, "tmp")).filter((x) => x.startsWith("staging-"))).toEqual([]);
  });

  it("refuses mode bits outside 0775 with bareUserOnlyFiles, copying between modes", async () => {
    const src = repoAt("src", "archive");
    const dir = tree({ f: "1", g: "2" });
    fs.chmodSync(join(dir, "f"), 0o4755);
    await commitTree(src, { trees: [{ kind: "dir", path: dir }], branch: "main" });
    const dst = repoAt("dst", "bare-user");
    await expect(pullLocal(src, dst, { bareUserOnlyFiles: true })).rejects.toMatchObject({
      code: "UNSUPPORTED",
      message: expect.stringContaining("invalid mode 0104755 with bits 04000"),
    });
    expect(objects(dst)).toEqual([]);
  });
});

describe("memory held by the copies in flight", () => {
  it("counts a whole-copied object's size, and one chunk for a streamed one", () => {
    expect(bytesHeldByCopy(0)).toBe(0);
    expect(bytesHeldByCopy(5 * 1024 * 1024)).toBe(5 * 1024 * 1024); // read whole, held whole
    expect(bytesHeldByCopy(STREAM_THRESHOLD - 1)).toBe(STREAM_THRESHOLD - 1);
    expect(bytesHeldByCopy(STREAM_THRESHOLD)).toBe(1024 * 1024); // streamed in 1 MiB chunks
    expect(bytesHeldByCopy(1 << 30)).toBe(1024 * 1024);
  });
});
