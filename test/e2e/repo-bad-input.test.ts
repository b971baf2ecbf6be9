/**
 * Bad input gets a clear error, a non-zero exit, and nothing written outside its place
 * (issue "Repository core" §6). Hostile objects are built in code.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksumToBytes, sha256Hex } from "../../src/core/checksum.js";
import { encodeCommit, encodeDirmeta } from "../../src/core/metadata.js";
import { DIRTREE } from "../../src/gvariant/formats.js";
import { serialize } from "../../src/gvariant/index.js";
import { Repo } from "../../src/repo/repo.js";
import { Transaction } from "../../src/repo/transaction.js";
import { arbor, ok, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let repoPath: string;
let src: string;

beforeAll(() => {
  t = tempDir("arbor-bad-");
  repoPath = join(t.dir, "repo");
  src = join(t.dir, "src");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "sub/file"), "data\n");
  writeFileSync(join(src, "top"), "top\n");
  ok(arbor(["init", `--repo=${repoPath}`, "--mode=bare-user"]));
  ok(arbor(["commit", `--repo=${repoPath}`, "-b", "main", src]));
});
afterAll(() => t.cleanup());

/** Write a commit whose root dirtree has the given raw (name, checksum) file entries. */
async function commitWithRawEntries(
  files: Array<[string, string]>,
  dirs: Array<[string, string, string]> = [],
): Promise<string> {
  const repo = Repo.open(repoPath);
  const tx = await Transaction.begin(repo);
  const meta = tx.writeMetadata("dirmeta", encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] }));
  const fileCs = await tx.writeContent(
    { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] },
    new TextEncoder().encode("x"),
  );
  // A NUL inside a name cannot be serialized as a GVariant string: encode a placeholder byte (\x01)
  // and patch it to 0 afterwards, as a hostile producer would.
  const tree = serialize(DIRTREE, [
    files.map(([n, cs]) => [n.replace(/\0/g, "\x01"), checksumToBytes(cs === "FILE" ? fileCs : cs)]),
    dirs.map(([n, tr, m]) => [n, checksumToBytes(tr), checksumToBytes(m === "META" ? meta : m)]),
  ]);
  for (const [n] of files) {
    if (!n.includes("\0")) continue;
    const at = Buffer.from(tree).indexOf(Buffer.from(n.replace(/\0/g, "\x01")));
    for (let i = 0; i < n.length; i++) if (n[i] === "\0") tree[at + i] = 0;
  }
  const treeCs = tx.writeMetadata("dirtree", tree);
  const commit = tx.writeMetadata(
    "commit",
    encodeCommit({
      metadata: [],
      parent: null,
      related: [],
      subject: "hostile",
      body: "",
      timestamp: 0,
      rootTree: treeCs,
      rootMeta: meta,
    }),
  );
  await tx.commit();
  return commit;
}

describe("hostile dirtree entries are refused by checkout, and nothing escapes", () => {
  // ostree's wording where ostree checks the name (".", "..", "/"); arbor also refuses the others
  const expected: Record<string, RegExp> = {
    "..": /Invalid path uplink filename '\.\.'/,
    ".": /Invalid self-referential filename '\.'/,
    "a/b": /Invalid \/ in filename a\/b/,
    "": /Invalid empty filename/,
    "nul\0byte": /string contains a 0 byte/,
  };
  for (const name of Object.keys(expected)) {
    it(`dirtree entry named ${JSON.stringify(name)}`, async () => {
      const c = await commitWithRawEntries([[name, "FILE"]]);
      const dest = join(t.dir, `co-${sha256Hex(new TextEncoder().encode(name)).slice(0, 8)}`);
      const r = arbor(["checkout", `--repo=${repoPath}`, "-U", c, dest]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: Invalid dirtree [0-9a-f]{64}: /m);
      expect(r.stderr).toMatch(expected[name]!);
      expect(existsSync(join(t.dir, "b"))).toBe(false);
      expect(existsSync(join(t.dir, "x"))).toBe(false);
      // fsck names the bad object too
      const f = arbor(["fsck", `--repo=${repoPath}`, "--all"]);
      expect(f.code).not.toBe(0);
    });
  }

  it("duplicate entries", async () => {
    const c = await commitWithRawEntries([
      ["same", "FILE"],
      ["same", "FILE"],
    ]);
    const r = arbor(["checkout", `--repo=${repoPath}`, "-U", c, join(t.dir, "co-dup")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/duplicate entry "same"/);
  });

  it("unsorted entries", async () => {
    const c = await commitWithRawEntries([
      ["b", "FILE"],
      ["a", "FILE"],
    ]);
    const r = arbor(["checkout", `--repo=${repoPath}`, "-U", c, join(t.dir, "co-unsorted")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not sorted/);
  });

  it("a malformed GVariant (truncated dirtree) is named", async () => {
    const repo = Repo.open(repoPath);
    const tx = await Transaction.begin(repo);
    const bad = new Uint8Array([0x78, 0x00, 0x99]);
    const badCs = tx.writeMetadata("dirtree", bad);
    const meta = tx.writeMetadata("dirmeta", encodeDirmeta({ uid: 0, gid: 0, mode: 0o40755, xattrs: [] }));
    const c = tx.writeMetadata(
      "commit",
      encodeCommit({
        metadata: [],
        parent: null,
        related: [],
        subject: "",
        body: "",
        timestamp: 0,
        rootTree: badCs,
        rootMeta: meta,
      }),
    );
    await tx.commit();
    const r = arbor(["ls", `--repo=${repoPath}`, c]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(badCs);
  });
});

describe("checkout destinations", () => {
  it("refuses a non-empty directory without --union, and leaves it untouched", () => {
    const dest = join(t.dir, "nonempty");
    mkdirSync(dest);
    writeFileSync(join(dest, "keep"), "mine");
    const r = arbor(["checkout", `--repo=${repoPath}`, "-U", "main", dest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*exists/m);
    expect(readdirSync(dest)).toEqual(["keep"]);
  });

  it("--union merges into it", () => {
    const dest = join(t.dir, "union");
    mkdirSync(dest);
    writeFileSync(join(dest, "keep"), "mine");
    ok(arbor(["checkout", `--repo=${repoPath}`, "-U", "--union", "main", dest]));
    expect(readdirSync(dest).sort()).toEqual(["keep", "sub", "top"]);
  });

  it("never follows a symlink in the destination that leads outside it", () => {
    const dest = join(t.dir, "union-escape");
    const outside = join(t.dir, "outside");
    mkdirSync(dest);
    mkdirSync(outside);
    symlinkSync(outside, join(dest, "sub"));
    const r = arbor(["checkout", `--repo=${repoPath}`, "-U", "--union", "main", dest]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/symlink/);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe("refs and repositories", () => {
  for (const bad of ["../escape", "/abs", "a//b", "a/", ".hidden", "a/../b", "x\ny"]) {
    it(`refuses ref name ${JSON.stringify(bad)}`, () => {
      const r = arbor(["refs", `--repo=${repoPath}`, `--create=${bad}`, "main"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Invalid ref name/);
      expect(existsSync(join(t.dir, "escape"))).toBe(false);
    });
  }

  it("refuses a commit -b with a hostile branch name", () => {
    const r = arbor(["commit", `--repo=${repoPath}`, "-b", "../../../escape", src]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Invalid ref name/);
    expect(existsSync(join(t.dir, "escape"))).toBe(false);
  });

  it("names an unknown repository mode", () => {
    const p = join(t.dir, "badmode");
    mkdirSync(join(p, "objects"), { recursive: true });
    writeFileSync(join(p, "config"), "[core]\nrepo_version=1\nmode=weird\n");
    const r = arbor(["refs", `--repo=${p}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unsupported mode "weird"/);
  });

  it("names an unknown repository version", () => {
    const p = join(t.dir, "badversion");
    mkdirSync(join(p, "objects"), { recursive: true });
    writeFileSync(join(p, "config"), "[core]\nrepo_version=2\nmode=bare\n");
    const r = arbor(["refs", `--repo=${p}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unsupported repo_version "2"/);
  });

  it("shows a commit whose parent is missing as history not fetched, not an error", async () => {
    const repo = Repo.open(repoPath);
    const tip = ok(arbor(["rev-parse", `--repo=${repoPath}`, "main"]));
    const c = repo.loadCommit(tip);
    const tx = await Transaction.begin(repo);
    const orphanParent = "ab".repeat(32);
    const child = tx.writeMetadata(
      "commit",
      encodeCommit({ ...c, parent: orphanParent, subject: "child of missing" }),
    );
    await tx.commit();
    const r = arbor(["log", `--repo=${repoPath}`, child]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Parent:  ${orphanParent}`);
    expect(r.stdout).toContain("<< History beyond this commit not fetched >>");
  });
});
