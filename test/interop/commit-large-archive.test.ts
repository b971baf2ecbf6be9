/**
 * A file over the stream threshold committed into an archive repository is compressed in chunks
 * on several threads (repo/deflate-parallel.ts): ostree must read that object as any other: same
 * commit as ostree's, `ostree fsck` clean, `ostree cat` and `ostree checkout` give the bytes back.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let src: string;
let big: Buffer;
beforeAll(() => {
  t = tempDir("arbor-commit-large-");
  src = join(t.dir, "src");
  mkdirSync(join(src, "var/lib"), { recursive: true });
  // 10 MiB and a bit: text that repeats (matches across the 1 MiB chunks) with random stretches
  const line = Buffer.from("Package: libexample1\nVersion: 2.0-1\nDepends: libc6 (>= 2.34)\n\n");
  const parts: Buffer[] = [];
  for (let i = 0; i < 42; i++) parts.push(Buffer.concat(Array(4000).fill(line)), randomBytes(4096 + i));
  big = Buffer.concat(parts);
  writeFileSync(join(src, "var/lib/Packages"), big);
  writeFileSync(join(src, "small"), "small\n");
});
afterAll(() => t.cleanup());

describe.skipIf(!hasOstree)("a large file in an archive commit, read by ostree", () => {
  it("is the commit ostree makes, and ostree reads it back", () => {
    expect(big.length).toBeGreaterThan(10 * 1024 * 1024);
    const a = join(t.dir, "a");
    const o = join(t.dir, "o");
    ok(arbor(["init", `--repo=${a}`, "--mode=archive"]));
    ok(ostree(["init", `--repo=${o}`, "--mode=archive"]));
    const args = ["commit", "-b", "m", "--timestamp=@1", "--no-xattrs", "--owner-uid=0", "--owner-gid=0"];
    const cs = ok(arbor([`--repo=${a}`, ...args, src])).trim();
    expect(cs).toBe(ok(ostree([`--repo=${o}`, ...args, src])).trim());
    ok(ostree(["fsck", `--repo=${a}`]), "ostree fsck");
    const cat = spawnSync("ostree", ["cat", `--repo=${a}`, "m", "/var/lib/Packages"], {
      maxBuffer: 64 << 20,
    });
    expect(cat.status).toBe(0);
    expect(cat.stdout.equals(big)).toBe(true);
    const co = join(t.dir, "co");
    ok(ostree(["checkout", `--repo=${a}`, "-U", "m", co]));
    expect(readFileSync(join(co, "var/lib/Packages")).equals(big)).toBe(true);
  });
});
