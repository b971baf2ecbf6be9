/**
 * User-mode checkouts from an archive repo keep uncompressed copies in
 * `uncompressed-objects-cache/XX/REST.file` and hardlink from there, as ostree does; each tool
 * reuses the copies the other made; `--disable-cache` and `core.enable-uncompressed-cache=false`
 * turn it off.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

describe.skipIf(!hasOstree)("uncompressed-objects cache (archive repo, user-mode checkout)", () => {
  let t: ReturnType<typeof tempDir>;
  let n = 0;
  beforeAll(() => {
    t = tempDir("arbor-uncompressed-cache-");
    const tree = join(t.dir, "tree");
    mkdirSync(join(tree, "d"), { recursive: true });
    writeFileSync(join(tree, "d/cow"), "moo\n", { mode: 0o600 });
    writeFileSync(join(tree, "x"), "x\n", { mode: 0o755 });
  });
  afterAll(() => t.cleanup());

  function repo(): string {
    const r = join(t.dir, `repo${n++}`);
    ok(ostree(["init", `--repo=${r}`, "--mode=archive"]));
    ok(ostree(["commit", `--repo=${r}`, "-b", "m", join(t.dir, "tree")]));
    return r;
  }
  const cacheFiles = (r: string): string[] => {
    const c = join(r, "uncompressed-objects-cache");
    if (!existsSync(c)) return [];
    return readdirSync(c).flatMap((d) => readdirSync(join(c, d)).map((f) => `${d}/${f}`));
  };

  it("arbor fills the cache where ostree keeps it, and ostree hardlinks from it", () => {
    const r = repo();
    const a = join(t.dir, "a1");
    ok(arbor(["checkout", `--repo=${r}`, "-U", "m", a]));
    expect(cacheFiles(r)).toHaveLength(2);
    expect(readFileSync(join(a, "d/cow"), "utf8")).toBe("moo\n");
    expect(statSync(join(a, "d/cow")).mode & 0o7777).toBe(0o600);
    const o = join(t.dir, "o1");
    ok(ostree(["checkout", `--repo=${r}`, "-U", "m", o]));
    expect(statSync(join(o, "d/cow")).ino).toBe(statSync(join(a, "d/cow")).ino);
    expect(statSync(join(o, "x")).ino).toBe(statSync(join(a, "x")).ino);
    ok(ostree(["fsck", `--repo=${r}`]));
  });

  it("arbor hardlinks from the copies ostree made", () => {
    const r = repo();
    const o = join(t.dir, "o2");
    ok(ostree(["checkout", `--repo=${r}`, "-U", "m", o]));
    const a = join(t.dir, "a2");
    ok(arbor(["checkout", `--repo=${r}`, "-U", "m", a]));
    expect(statSync(join(a, "d/cow")).ino).toBe(statSync(join(o, "d/cow")).ino);
    expect(statSync(join(a, "d/cow")).nlink).toBe(3);
  });

  it("--disable-cache and core.enable-uncompressed-cache=false leave no cache", () => {
    const r = repo();
    ok(arbor(["checkout", `--repo=${r}`, "-U", "--disable-cache", "m", join(t.dir, "a3")]));
    expect(existsSync(join(r, "uncompressed-objects-cache"))).toBe(false);
    ok(arbor(["config", `--repo=${r}`, "set", "core.enable-uncompressed-cache", "false"]));
    ok(arbor(["checkout", `--repo=${r}`, "-U", "m", join(t.dir, "a4")]));
    expect(existsSync(join(r, "uncompressed-objects-cache"))).toBe(false);
    expect(statSync(join(t.dir, "a4/d/cow")).nlink).toBe(1);
  });
});
