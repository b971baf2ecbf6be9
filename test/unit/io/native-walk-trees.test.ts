/**
 * The addon's walkTrees (native/walk_trees.c): which objects the dirtrees a repository holds name
 * and it lacks. Checked against traverseCommit() on real commits, and against the JS fast dirtree
 * reader on mutated dirtrees (what the walker reads, the JS reader reads the same way).
 */
import { mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../src/core/checksum.js";
import { decodeDirtreeFast } from "../../../src/core/dirtree-fast.js";
import { type Dirtree, encodeDirtree } from "../../../src/core/metadata.js";
import { native } from "../../../src/io/native.js";
import type { Repo } from "../../../src/repo/repo.js";
import { objectKey, traverseCommit } from "../../../src/repo/traverse.js";
import { dirtreeChecksum, fileChecksum, makeHistory, tmp } from "../repo/_fsck-prune-fixtures.js";
import { mutations } from "./_mutate.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-walk-");
});
afterEach(() => t.cleanup());

const hexList = (b: Buffer): string[] => {
  const out: string[] = [];
  for (let i = 0; i < b.length; i += 32) out.push(b.subarray(i, i + 32).toString("hex"));
  return out.sort();
};

async function walk(objectsDir: string, roots: string[], ext: "file" | "filez" = "file") {
  const r = await native().walkTrees!(objectsDir, roots, ext);
  return {
    walked: hexList(r.walked),
    missingFiles: hexList(r.missingFiles),
    missingMetas: hexList(r.missingMetas),
    missingTrees: hexList(r.missingTrees),
    unread: hexList(r.unread),
  };
}

function reachable(repo: Repo, commit: string, type: string): string[] {
  return [...traverseCommit(repo, commit)]
    .filter((k) => k.endsWith(`.${type}`))
    .map((k) => k.slice(0, 64))
    .sort();
}

const cs = (s: string) => sha256Hex(new TextEncoder().encode(s));

describe("walkTrees()", () => {
  for (const mode of ["archive", "bare-user-only"] as const) {
    it(`walks a whole commit's tree held in a ${mode} repository: nothing missing`, async () => {
      const { repo, commits } = await makeHistory(t.dir, mode, 1);
      const root = repo.loadCommit(commits[0]!).rootTree;
      const r = await walk(join(repo.path, "objects"), [root], repo.archive ? "filez" : "file");
      expect(r.walked).toEqual(reachable(repo, commits[0]!, "dirtree"));
      expect(r).toMatchObject({ missingFiles: [], missingMetas: [], missingTrees: [], unread: [] });
    });
  }

  it("lists the content, dirmeta and dirtree objects it lacks, each once, and does not walk a missing dirtree", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const c = commits[0]!;
    const file = fileChecksum(repo, c, "sub/b.txt");
    const deeper = dirtreeChecksum(repo, c, "sub/deeper");
    const deepFile = fileChecksum(repo, c, "sub/deeper/c.txt");
    const trees = reachable(repo, c, "dirtree");
    // every directory of this tree has the same dirmeta: listed once
    const meta = reachable(repo, c, "dirmeta");
    expect(meta).toHaveLength(1);
    unlinkSync(repo.objectPath(file, "file"));
    unlinkSync(repo.objectPath(deeper, "dirtree"));
    unlinkSync(repo.objectPath(meta[0]!, "dirmeta"));
    const r = await walk(join(repo.path, "objects"), [repo.loadCommit(c).rootTree], "filez");
    expect(r.missingFiles).toEqual([file]);
    expect(r.missingMetas).toEqual(meta);
    expect(r.missingTrees).toEqual([deeper]);
    expect(r.walked).toEqual(trees.filter((x) => x !== deeper));
    expect(r.missingFiles).not.toContain(deepFile); // below the missing dirtree: not walked
    expect(r.unread).toEqual([]);
  });

  it("looks content up under the extension asked for", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 1);
    const files = reachable(repo, commits[0]!, "file");
    // an archive repository's content is .filez: asked as .file, all of it is missing
    const r = await walk(join(repo.path, "objects"), [repo.loadCommit(commits[0]!).rootTree], "file");
    expect(r.missingFiles).toEqual(files);
  });

  it("leaves to the caller a dirtree it cannot read or will not decode, walking the rest", async () => {
    const objects = join(t.dir, "objects");
    const put = (checksum: string, bytes: Uint8Array) => {
      const p = join(objects, checksum.slice(0, 2), `${checksum.slice(2)}.dirtree`);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, bytes);
    };
    const garbage = cs("garbage");
    const unicode = cs("unicode");
    const dir = cs("dir");
    const notFile = cs("a directory where a dirtree should be");
    put(garbage, new Uint8Array([1, 2, 3, 4, 5]));
    put(unicode, encodeDirtree({ files: [{ name: "caf\u00e9", checksum: cs("f1") }], dirs: [] }));
    mkdirSync(join(objects, notFile.slice(0, 2), `${notFile.slice(2)}.dirtree`), { recursive: true });
    const tree: Dirtree = {
      files: [{ name: "ok", checksum: cs("f2") }],
      dirs: [
        { name: "a", tree: garbage, meta: cs("m") },
        { name: "b", tree: unicode, meta: cs("m") },
        { name: "c", tree: notFile, meta: cs("m") },
      ],
    };
    put(dir, encodeDirtree(tree));
    const r = await walk(objects, [dir]);
    expect(r.walked).toEqual([dir]);
    expect(r.unread).toEqual([garbage, unicode, notFile].sort());
    expect(r.missingFiles).toEqual([cs("f2")]);
    expect(r.missingMetas).toEqual([cs("m")]);
    // the JS decoder is the one to say what is wrong with the garbage one, and reads the other
    expect(
      decodeDirtreeFast(readFileSync(join(objects, garbage.slice(0, 2), `${garbage.slice(2)}.dirtree`))),
    ).toBe(null);
  });

  it("walks a dirtree reached twice (and a root given twice) once, and survives a cycle", async () => {
    const objects = join(t.dir, "objects");
    const a = cs("a");
    const b = cs("b");
    const put = (checksum: string, d: Dirtree) => {
      const p = join(objects, checksum.slice(0, 2), `${checksum.slice(2)}.dirtree`);
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, encodeDirtree(d));
    };
    // a names b twice and itself; b names a: only possible with made-up checksums, which is the point
    put(a, {
      files: [],
      dirs: [
        { name: "x", tree: b, meta: cs("m") },
        { name: "y", tree: b, meta: cs("m") },
        { name: "z", tree: a, meta: cs("m") },
      ],
    });
    put(b, { files: [{ name: "f", checksum: cs("f") }], dirs: [{ name: "up", tree: a, meta: cs("m") }] });
    const r = await walk(objects, [a, a, b]);
    expect(r.walked).toEqual([a, b].sort());
    expect(r.missingFiles).toEqual([cs("f")]);
    expect(r.missingMetas).toEqual([cs("m")]);
  });

  it("reads exactly the dirtrees the JS fast reader reads (mutated dirtrees)", async () => {
    const objects = join(t.dir, "objects");
    const root = "ab".repeat(32);
    const path = join(objects, "ab", `${root.slice(2)}.dirtree`);
    mkdirSync(dirname(path), { recursive: true });
    const base = encodeDirtree({
      files: [
        { name: "alpha", checksum: cs("1") },
        { name: "beta", checksum: cs("2") },
        { name: "gamma.conf", checksum: cs("1") },
      ],
      dirs: [
        { name: "etc", tree: cs("t1"), meta: cs("m1") },
        { name: "usr", tree: cs("t2"), meta: cs("m1") },
      ],
    });
    let walkedCount = 0;
    let unreadCount = 0;
    let i = 0;
    for (const bytes of mutations(base, 400, 12345)) {
      i++;
      rmSync(path, { force: true });
      writeFileSync(path, bytes);
      const r = await walk(objects, [root]);
      const js = decodeDirtreeFast(bytes);
      const ascii =
        js !== null &&
        [...js.files, ...js.dirs].every((e) => [...e.name].every((ch) => ch.charCodeAt(0) < 0x80));
      if (r.walked.length) {
        walkedCount++;
        expect(js, `mutation ${i}`).not.toBe(null);
        expect(ascii).toBe(true);
        const uniq = (xs: string[]) => [...new Set(xs)].sort();
        expect(r.missingFiles).toEqual(uniq(js!.files.map((f) => f.checksum)));
        expect(r.missingMetas).toEqual(uniq(js!.dirs.map((d) => d.meta)));
        expect(r.missingTrees).toEqual(uniq(js!.dirs.map((d) => d.tree)).filter((x) => x !== root));
      } else {
        unreadCount++;
        expect(r.unread).toEqual([root]);
        expect(ascii, `mutation ${i}: the JS reader reads it`).toBe(false);
      }
    }
    // both outcomes were exercised
    expect(walkedCount).toBeGreaterThan(10);
    expect(unreadCount).toBeGreaterThan(100);
  });

  it("refuses bad arguments at once and rejects when the objects directory cannot be opened", async () => {
    const n = native();
    const ok = "ab".repeat(32);
    expect(() => n.walkTrees!(t.dir, "nope" as never, "file")).toThrow(TypeError);
    expect(() => n.walkTrees!(t.dir, [ok.toUpperCase()], "file")).toThrow(/64-digit lower-case hex/);
    expect(() => n.walkTrees!(t.dir, [`${ok}00`], "file")).toThrow(/64-digit/);
    expect(() => n.walkTrees!(t.dir, [ok.slice(2)], "file")).toThrow(/64-digit/);
    expect(() => n.walkTrees!(t.dir, [42 as never], "file")).toThrow(TypeError);
    expect(() => n.walkTrees!(t.dir, [ok], "dirtree" as never)).toThrow(RangeError);
    await expect(n.walkTrees!(join(t.dir, "absent"), [ok], "file")).rejects.toMatchObject({
      code: "ENOENT",
      syscall: "open",
    });
    // no roots: nothing walked
    const r = await walk(t.dir, []);
    expect(r).toEqual({ walked: [], missingFiles: [], missingMetas: [], missingTrees: [], unread: [] });
  });

  it("counts the reachable objects the way traverseCommit does on a two-commit history", async () => {
    const { repo, commits } = await makeHistory(t.dir, "archive", 2);
    const keys = traverseCommit(repo, commits[1]!, { maxDepth: 0 });
    const r = await walk(join(repo.path, "objects"), [repo.loadCommit(commits[1]!).rootTree], "filez");
    expect(r.walked.map((x) => objectKey(x, "dirtree")).every((k) => keys.has(k))).toBe(true);
    expect(r.walked).toHaveLength([...keys].filter((k) => k.endsWith(".dirtree")).length);
  });
});
