/**
 * The addon's checkoutTree / checkoutTreeFinish (native/checkout_tree.c): a whole hardlink
 * checkout below a fresh root, on threads. Checked against the JS checkout's rules: what it does
 * itself, what it hands back (entries, subtrees it does not read, directories it cannot make) and
 * in which order, the directories' final modes and times, and its argument checks.
 */

import { createHash } from "node:crypto";
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeDirtreeFast } from "../../../src/core/dirtree-fast.js";
import { encodeDirmeta, encodeDirtree } from "../../../src/core/metadata.js";
import { type CheckoutTreeResult, type LinkKind, native } from "../../../src/io/native.js";
import { commitTree } from "../../../src/repo/commit.js";
import { Repo, type RepoMode } from "../../../src/repo/repo.js";
import {
  dirtreeChecksum,
  fileChecksum,
  putLooseMetadata,
  tmp,
  userXattrsWork,
} from "../repo/_fsck-prune-fixtures.js";
import { mutations } from "./_mutate.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-cot-");
});
afterEach(() => {
  // read-only directories made by a checkout: make them removable
  const open = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      if (st.isDirectory()) {
        chmodSync(p, 0o755);
        open(p);
      }
    }
  };
  open(t.dir);
  t.cleanup();
});

const xattrsOk = (() => {
  const p = tmp("arbor-cot-probe-");
  try {
    return userXattrsWork(p.dir);
  } finally {
    p.cleanup();
  }
})();

/** A source tree with what a checkout meets: modes, symlinks, empty and non-ASCII names, depth. */
function writeSource(src: string): void {
  mkdirSync(join(src, "usr/bin"), { recursive: true });
  mkdirSync(join(src, "usr/share/doc/pkg"), { recursive: true });
  mkdirSync(join(src, "etc"), { recursive: true });
  mkdirSync(join(src, "empty-dir"));
  writeFileSync(join(src, "usr/bin/tool"), "#!/bin/sh\necho tool\n");
  chmodSync(join(src, "usr/bin/tool"), 0o755);
  writeFileSync(join(src, "usr/share/doc/pkg/README"), "readme\n");
  writeFileSync(join(src, "etc/.pwd.lock"), "");
  chmodSync(join(src, "etc/.pwd.lock"), 0o600);
  writeFileSync(join(src, "etc/empty-setuid"), "");
  chmodSync(join(src, "etc/empty-setuid"), 0o4755);
  writeFileSync(join(src, "etc/hostname"), "arbor\n");
  writeFileSync(join(src, "etc/caf\u00e9 \u65e5\u672c"), "unicode name\n");
  symlinkSync("usr/bin", join(src, "bin"));
  symlinkSync("x".repeat(200), join(src, "etc/long-link"));
  mkdirSync(join(src, "ro/inner"), { recursive: true });
  writeFileSync(join(src, "ro/inner/file"), "in a read-only directory\n");
  chmodSync(join(src, "ro/inner"), 0o555);
  chmodSync(join(src, "ro"), 0o500);
  mkdirSync(join(src, "setgid"));
  chmodSync(join(src, "setgid"), 0o2775);
}

async function makeRepo(mode: RepoMode): Promise<{ repo: Repo; commit: string; root: string }> {
  const src = join(t.dir, "src");
  writeSource(src);
  const repo = Repo.create(join(t.dir, `repo-${mode}`), { mode });
  const r = await commitTree(repo, {
    trees: [{ kind: "dir", path: src }],
    branch: "main",
    subject: "tree",
    timestamp: 0,
    ownerUid: 0,
    ownerGid: 0,
  });
  chmodSync(join(src, "ro"), 0o755);
  chmodSync(join(src, "ro/inner"), 0o755);
  return { repo, commit: r.commit, root: repo.loadCommit(r.commit).rootTree };
}

const KIND: Record<string, LinkKind> = { bare: 0, "bare-user": 1, "bare-user-only": 2 };

async function walk(
  repo: Repo,
  root: string,
  dest: string,
  opts: Partial<{ threads: number; userMode: boolean; canonical: boolean; progress: Int32Array }> = {},
): Promise<CheckoutTreeResult> {
  mkdirSync(dest);
  return native().checkoutTree!(join(repo.path, "objects"), dest, root, KIND[repo.mode]!, {
    threads: 2,
    userMode: repo.mode !== "bare",
    canonical: repo.mode === "bare-user-only",
    ...opts,
  });
}

/** Every path below `root` with its type, mode, size and link target or content. */
function listing(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    const st = lstatSync(join(root, rel));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out[rel || "."] = `dir ${mode} mtime=${st.mtimeMs}`;
      for (const n of readdirSync(join(root, rel)).sort()) visit(rel ? `${rel}/${n}` : n);
    } else if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(join(root, rel))}`;
    else out[rel] = `file ${mode} ${readFileSync(join(root, rel), "utf8")}`;
  };
  visit("");
  return out;
}

const modes: RepoMode[] = xattrsOk ? ["bare-user", "bare-user-only"] : ["bare-user-only"];

describe.skipIf(typeof native().checkoutTree !== "function")("checkoutTree()", () => {
  for (const mode of modes) {
    it(`${mode}: checks out the whole tree itself, then finish gives directories their modes and mtime 0`, async () => {
      const { repo, root, commit } = await makeRepo(mode);
      const dest = join(t.dir, "co");
      const progress = new Int32Array(1);
      const r = await walk(repo, root, dest, { progress });
      expect(r.rest).toEqual([]);
      // usr, usr/bin, usr/share, usr/share/doc, usr/share/doc/pkg, etc, empty-dir, ro, ro/inner, setgid
      expect(r.dirs).toBe(10);
      expect(r.linked).toBe(5);
      expect(r.symlinked).toBe(2);
      expect(r.created).toBe(2);
      expect(progress[0]).toBe(r.linked + r.symlinked + r.created);
      // before finish: made 0700, nothing else yet
      expect(lstatSync(join(dest, "ro")).mode & 0o7777).toBe(0o700);
      await native().checkoutTreeFinish!(r.handle);
      const l = listing(dest);
      // bare-user-only commits keep only 0755 of a directory's mode
      const dmode = (m: number) => (mode === "bare-user-only" ? m & 0o755 : m).toString(8);
      expect(l).toMatchObject({
        ro: `dir ${dmode(0o500)} mtime=0`,
        "ro/inner": `dir ${dmode(0o555)} mtime=0`,
        setgid: `dir ${dmode(0o2775)} mtime=0`,
        "usr/share/doc/pkg": "dir 755 mtime=0",
        "usr/bin/tool": "file 755 #!/bin/sh\necho tool\n",
        "etc/.pwd.lock": "file 600 ",
        // a copy in user mode drops setuid/setgid, as checkout-copy.ts does
        "etc/empty-setuid": "file 755 ",
        "etc/caf\u00e9 \u65e5\u672c": "file 644 unicode name\n",
      });
      expect(l.bin).toBe("link usr/bin");
      expect(l["etc/long-link"]).toBe(`link ${"x".repeat(200)}`);
      // the linked files are the repository's objects
      const obj = repo.objectPath(fileChecksum(repo, commit, "usr/bin/tool"), "file");
      expect(lstatSync(join(dest, "usr/bin/tool")).ino).toBe(lstatSync(obj).ino);
      // finish once: a second call has nothing left to do
      chmodSync(join(dest, "setgid"), 0o700);
      await native().checkoutTreeFinish!(r.handle);
      expect(lstatSync(join(dest, "setgid")).mode & 0o7777).toBe(0o700);
    });
  }

  it("gives the same tree on one thread as on many", async () => {
    const { repo, root } = await makeRepo("bare-user-only");
    const out: Array<Record<string, string>> = [];
    for (const threads of [1, 4, 16]) {
      const dest = join(t.dir, `co-${threads}`);
      const r = await walk(repo, root, dest, { threads });
      expect(r.rest).toEqual([]);
      await native().checkoutTreeFinish!(r.handle);
      const l = listing(dest);
      delete l["."]; // the root is the caller's
      out.push(l);
    }
    expect(out[1]).toEqual(out[0]);
    expect(out[2]).toEqual(out[0]);
  });

  it("hands back, in tree order, entries it does not do and subtrees it does not read, making neither", async () => {
    const { repo, root, commit } = await makeRepo("bare-user-only");
    // a missing content object, a subtree whose dirtree is not a dirtree, an unreadable empty file
    const readme = fileChecksum(repo, commit, "usr/share/doc/pkg/README");
    unlinkSync(repo.objectPath(readme, "file"));
    const etc = dirtreeChecksum(repo, commit, "etc");
    chmodSync(repo.objectPath(etc, "dirtree"), 0o644);
    writeFileSync(repo.objectPath(etc, "dirtree"), "not a dirtree");
    const dest = join(t.dir, "co");
    const r = await walk(repo, root, dest);
    const rest = [...r.rest].sort((a, b) => Buffer.compare(a[1], b[1])).map((e) => [e[0], e[2], e[3]]);
    // the root's entries: bin (file), empty-dir, etc, ro, setgid, usr (directories, in name order)
    expect(rest).toEqual([
      [1, "/etc", null],
      [0, "/usr/share/doc/pkg", "README"],
    ]);
    const etcEntry = r.rest.find((e) => e[0] === 1)!;
    expect(etcEntry[4]).toBe(etc);
    expect(() => lstatSync(join(dest, "etc"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
    expect(() => lstatSync(join(dest, "usr/share/doc/pkg/README"))).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
    expect(lstatSync(join(dest, "usr/bin/tool")).isFile()).toBe(true);
    await native().checkoutTreeFinish!(r.handle);
  });

  for (const mode of modes)
    it(`${mode}: hands back an empty file its owner cannot read (the JS copy adds 0400)`, async () => {
      const src = join(t.dir, "src-unreadable");
      mkdirSync(src);
      writeFileSync(join(src, "locked"), "");
      chmodSync(join(src, "locked"), 0o200);
      writeFileSync(join(src, "open"), "");
      const repo = Repo.create(join(t.dir, `repo-u-${mode}`), { mode });
      const c = await commitTree(repo, {
        trees: [{ kind: "dir", path: src }],
        branch: "u",
        subject: "u",
        timestamp: 0,
      });
      const dest = join(t.dir, "co");
      const r = await walk(repo, repo.loadCommit(c.commit).rootTree, dest);
      expect(r.rest.map((e) => [e[0], e[2], e[3]])).toEqual([[0, "", "locked"]]);
      expect(r.created).toBe(1);
      expect(readdirSync(dest)).toEqual(["open"]);
    });

  it("leaves a subtree whose dirmeta has xattrs, or is not a directory's, to the caller", async () => {
    const { repo, commit } = await makeRepo("bare-user-only");
    const usr = repo.loadDirtree(dirtreeChecksum(repo, commit, "usr"));
    const withXattrs = putLooseMetadata(
      repo,
      "dirmeta",
      encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [["user.x", new Uint8Array([1])]] }),
    );
    // (uuua(ayay)) with no xattrs: uid, gid, mode big-endian; mode 0100644 is a file's
    const notDir = putLooseMetadata(
      repo,
      "dirmeta",
      new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81, 0xa4]),
    );
    const tree = putLooseMetadata(
      repo,
      "dirtree",
      encodeDirtree({
        files: [],
        dirs: [
          { name: "a", tree: dirtreeChecksum(repo, commit, "usr"), meta: withXattrs },
          { name: "b", tree: dirtreeChecksum(repo, commit, "usr"), meta: notDir },
          { name: "c", tree: dirtreeChecksum(repo, commit, "usr"), meta: usr.dirs[0]!.meta },
        ],
      }),
    );
    const dest = join(t.dir, "co");
    const r = await walk(repo, tree, dest);
    expect(r.rest.map((e) => [e[0], e[2]])).toEqual([
      [1, "/a"],
      [1, "/b"],
    ]);
    expect(readdirSync(dest)).toEqual(["c"]);
    await native().checkoutTreeFinish!(r.handle);
  });

  it("hands back the whole root when its dirtree is not one it reads (a name that is not UTF-8)", async () => {
    const { repo, commit } = await makeRepo("bare-user-only");
    const good = repo.loadDirtree(dirtreeChecksum(repo, commit, "usr/bin"));
    const bytes = Buffer.from(
      encodeDirtree({ files: [{ name: "ab", checksum: good.files[0]!.checksum }], dirs: [] }),
    );
    // "ab\0" → "a\xff\0": the same length, not UTF-8
    bytes[bytes.indexOf("ab") + 1] = 0xff;
    const tree = putLooseMetadata(repo, "dirtree", bytes);
    const dest = join(t.dir, "co");
    const r = await walk(repo, tree, dest);
    expect(r.rest.map((e) => [e[0], e[1].length, e[2], e[4]])).toEqual([[1, 0, "", tree]]);
    expect(r.dirs).toBe(0);
    expect(readdirSync(dest)).toEqual([]);
  });

  it("reads exactly the dirtrees the JS fast reader reads, UTF-8 names included (mutated dirtrees)", async () => {
    const objects = join(t.dir, "objects");
    const root = "ab".repeat(32);
    const path = join(objects, "ab", `${root.slice(2)}.dirtree`);
    mkdirSync(join(objects, "ab"), { recursive: true });
    const cs = (x: string) => createHash("sha256").update(x).digest("hex");
    // no content object and no subtree is present: every entry comes back, as the walk read it
    const base = encodeDirtree({
      files: [
        { name: "alpha", checksum: cs("1") },
        { name: "caf\u00e9", checksum: cs("2") },
        { name: "\u65e5\u672c.conf", checksum: cs("1") },
      ],
      dirs: [
        { name: "etc", tree: cs("t1"), meta: cs("m1") },
        { name: "\u00fcsr", tree: cs("t2"), meta: cs("m1") },
      ],
    });
    const dest = join(t.dir, "co");
    mkdirSync(dest);
    let read = 0;
    let left = 0;
    let i = 0;
    for (const bytes of mutations(base, 400, 4242)) {
      i++;
      rmSync(path, { force: true });
      writeFileSync(path, bytes);
      const r = await native().checkoutTree!(objects, dest, root, 2, {
        threads: 2,
        userMode: true,
        canonical: true,
      });
      const js = decodeDirtreeFast(bytes);
      const rest = [...r.rest].sort((a, b) => Buffer.compare(a[1], b[1]));
      if (rest.length === 1 && rest[0]![0] === 1 && rest[0]![2] === "") {
        left++;
        expect(js, `mutation ${i}: the JS reader reads it`).toBe(null);
        continue;
      }
      read++;
      expect(js, `mutation ${i}`).not.toBe(null);
      expect(rest.filter((e) => e[0] === 0).map((e) => [e[2], e[3], e[4]])).toEqual(
        js!.files.map((f) => ["", f.name, f.checksum]),
      );
      expect(rest.filter((e) => e[0] === 1).map((e) => [e[2], e[4], e[5]])).toEqual(
        js!.dirs.map((d) => [`/${d.name}`, d.tree, d.meta]),
      );
      expect(readdirSync(dest)).toEqual([]);
    }
    expect(read).toBeGreaterThan(10);
    expect(left).toBeGreaterThan(100);
  });

  it("hands every entry back when its objects directory is too deep for an object's path", async () => {
    // objects/ made where its paths are short, then moved below a directory whose path leaves
    // no room for "/XX/REST.file" under PATH_MAX (the walk reaches the dirtree through its fd)
    const short = join(t.dir, "o");
    const root = "ab".repeat(32);
    const file = "cd".repeat(32);
    mkdirSync(join(short, "ab"), { recursive: true });
    mkdirSync(join(short, "cd"));
    writeFileSync(
      join(short, "ab", `${root.slice(2)}.dirtree`),
      encodeDirtree({ files: [{ name: "f", checksum: file }], dirs: [] }),
    );
    writeFileSync(join(short, "cd", `${file.slice(2)}.file`), "data");
    let deep = t.dir;
    while (deep.length + "/objects".length < 4096 - 60) deep = join(deep, "d".repeat(200));
    deep = deep.slice(0, 4096 - 60 - "/objects".length);
    mkdirSync(deep, { recursive: true });
    const objects = join(deep, "objects");
    renameSync(short, objects);
    const dest = join(t.dir, "co");
    mkdirSync(dest);
    try {
      const r = await native().checkoutTree!(objects, dest, root, 2, {
        threads: 1,
        userMode: true,
        canonical: true,
      });
      expect(r.rest.map((e) => [e[0], e[2], e[3], e[4]])).toEqual([[0, "", "f", file]]);
      expect(readdirSync(dest)).toEqual([]);
    } finally {
      renameSync(objects, short); // back where the clean-up can reach every path
    }
  });

  it("reports a directory it cannot make, and walks nothing below it", async () => {
    const { repo, root } = await makeRepo("bare-user-only");
    const dest = join(t.dir, "co");
    mkdirSync(dest);
    writeFileSync(join(dest, "usr"), "in the way");
    const r = await native().checkoutTree!(join(repo.path, "objects"), dest, root, 2, {
      threads: 2,
      userMode: true,
      canonical: true,
    });
    const errs = r.rest.filter((e) => e[0] === 2);
    expect(errs).toHaveLength(1);
    expect(errs[0]![2]).toBe("/usr");
    expect(errs[0]![6]).toMatchObject({ code: "EEXIST", syscall: "mkdir", path: join(dest, "usr") });
    expect(readFileSync(join(dest, "usr"), "utf8")).toBe("in the way");
    expect(lstatSync(join(dest, "etc")).isDirectory()).toBe(true);
    await native().checkoutTreeFinish!(r.handle);
  });

  it("finish reports the directory whose mode cannot be set", async () => {
    const { repo, root } = await makeRepo("bare-user-only");
    const dest = join(t.dir, "co");
    const r = await walk(repo, root, dest);
    rmSync(join(dest, "empty-dir"), { recursive: true });
    await expect(native().checkoutTreeFinish!(r.handle)).rejects.toMatchObject({
      code: "ENOENT",
      syscall: "chmod",
      path: join(dest, "empty-dir"),
    });
  });

  it("rejects when the objects directory cannot be opened", async () => {
    const dest = join(t.dir, "co");
    mkdirSync(dest);
    await expect(
      native().checkoutTree!(join(t.dir, "nope"), dest, "a".repeat(64), 1, {
        threads: 1,
        userMode: true,
        canonical: false,
      }),
    ).rejects.toMatchObject({ code: "ENOENT", syscall: "open" });
  });

  it("rejects bad arguments synchronously", () => {
    const n = native() as unknown as Record<string, (...a: unknown[]) => unknown>;
    const o = { threads: 1, userMode: true, canonical: false };
    const call =
      (...a: unknown[]) =>
      () =>
        n.checkoutTree!(...a);
    const cs = "a".repeat(64);
    expect(call("/o", "/d", cs, 1)).toThrow(expect.objectContaining({ code: "ERR_MISSING_ARGS" }));
    expect(call("/o", "rel/dest", cs, 1, o)).toThrow(RangeError);
    expect(call("/o", "/", cs, 1, o)).toThrow(RangeError);
    expect(call("/o", "///", cs, 1, o)).toThrow(RangeError);
    expect(call("/o", "/d", cs, 3, o)).toThrow(RangeError);
    expect(call("/o", "/d", cs.toUpperCase(), 1, o)).toThrow(TypeError);
    expect(call("/o", "/d", cs.slice(1), 1, o)).toThrow(TypeError);
    expect(call("/o", "/d", `${cs.slice(1)}g`, 1, o)).toThrow(TypeError);
    expect(call("/o", "/d", cs, 1, { ...o, threads: 0 })).toThrow(RangeError);
    expect(call("/o", "/d", cs, 1, { ...o, threads: 17 })).toThrow(RangeError);
    expect(call("/o", "/d", cs, 1, { ...o, threads: "2" })).toThrow(/threads/);
    expect(call("/o", "/d", cs, 1, { ...o, progress: new Uint8Array(4) })).toThrow(TypeError);
    expect(call("/o", "/d", cs, 1, { ...o, progress: new Int32Array(0) })).toThrow(TypeError);
    expect(call("/o", "/d", cs, 1, null)).toThrow(TypeError);
    expect(() => n.checkoutTreeFinish!({})).toThrow(TypeError);
    expect(() => n.checkoutTreeFinish!()).toThrow(TypeError);
  });
});
