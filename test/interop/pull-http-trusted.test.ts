/**
 * `pull --http-trusted` as ostree does it (its test-pull-bare "corruption" step), against nginx
 * serving an archive repository in which one content object is corrupt but well formed (its data
 * byte-swapped, recompressed under the same header, as `dd conv=swab` + `pull-local` makes it):
 *  - into a bare-user repository, and into archive without `--mirror` or with
 *    `--bareuseronly-files`, the object is still verified: the pull fails naming it, no ref moves;
 *  - `--mirror --http-trusted` into archive stores every `.filez` byte for byte as served, the
 *    corrupt one included, which `arbor fsck` and `ostree fsck` then report — and the real
 *    `ostree pull --mirror --http-trusted` stores the same bytes;
 *  - `--mirror` without `--http-trusted` refuses the object; a `file://` remote ignores the flag.
 * Needs `npm run build`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";
import { type RunningServer, startNginx } from "../helpers/nginx.js";

let t: ReturnType<typeof tempDir>;
let srv: RunningServer;
let served: string;
let commit: string;
let bad: string; // checksum of the corrupted content object

function filezPath(repo: string, cs: string): string {
  return join(repo, "objects", cs.slice(0, 2), `${cs.slice(2)}.filez`);
}

/** Every `.filez` of an archive repository, by object name. */
function filezFiles(repo: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const objects = join(repo, "objects");
  for (const d of readdirSync(objects))
    for (const f of readdirSync(join(objects, d)))
      if (f.endsWith(".filez")) out.set(d + f, readFileSync(join(objects, d, f)));
  return out;
}

/** Swap each byte pair of the object's data (`dd conv=swab`), keeping its archive header. */
function corruptFilez(path: string): void {
  const b = readFileSync(path);
  const dataOffset = 8 + b.readUInt32BE(0);
  const data = inflateRawSync(b.subarray(dataOffset));
  for (let i = 0; i + 1 < data.length; i += 2) [data[i], data[i + 1]] = [data[i + 1]!, data[i]!];
  writeFileSync(path, Buffer.concat([b.subarray(0, dataOffset), deflateRawSync(data)]));
}

function client(tool: typeof arbor, name: string, mode: string, url = `${srv.url}/served`): string {
  const repo = join(t.dir, name);
  ok(tool(["init", `--repo=${repo}`, `--mode=${mode}`]));
  ok(tool(["remote", "add", `--repo=${repo}`, "--set=gpg-verify=false", "corruptrepo", url]));
  return repo;
}

function expectRefused(repo: string, r: ReturnType<typeof arbor>, mirror: boolean): void {
  expect(r.code, r.stdout).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`Corrupted.*${bad}`));
  const ref = mirror ? "main" : "corruptrepo:main";
  expect(arbor(["rev-parse", `--repo=${repo}`, ref]).code).not.toBe(0);
}

beforeAll(async () => {
  t = tempDir("arbor-interop-http-trusted-");
  const tree = join(t.dir, "tree");
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  writeFileSync(join(tree, "usr/bin/tool"), "hello, corrupted world\n");
  writeFileSync(join(tree, "usr/bin/other"), "fine\n");
  writeFileSync(join(tree, "big"), Buffer.alloc(1024 * 1024, 5)); // streamed, not held in memory
  served = join(t.dir, "served");
  ok(arbor(["init", `--repo=${served}`, "--mode=archive"]));
  commit = ok(arbor(["commit", `--repo=${served}`, "-b", "main", "-s", "v1", "--no-xattrs", tree]));
  ok(arbor(["summary", "-u", `--repo=${served}`]));
  bad = ok(arbor(["ls", `--repo=${served}`, "-C", "main", "/usr/bin/tool"])).split(/\s+/)[4]!;
  expect(bad).toMatch(/^[0-9a-f]{64}$/);
  corruptFilez(filezPath(served, bad));
  srv = await startNginx({ root: t.dir, dir: join(t.dir, "www") });
}, 60_000);

afterAll(async () => {
  await srv?.stop();
  t?.cleanup();
});

describe.runIf(hasOstree)("pull --http-trusted (as ostree)", () => {
  it("the served repository is corrupt (both fsck say so)", () => {
    for (const tool of [arbor, ostree]) {
      const r = tool(["fsck", `--repo=${served}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr + r.stdout).toMatch(new RegExp(`Corrupted.*${bad}`));
    }
  });

  it("into bare-user, --http-trusted still verifies: fails naming the object, no ref", () => {
    const repo = client(arbor, "bu", "bare-user");
    expectRefused(repo, arbor(["pull", `--repo=${repo}`, "--http-trusted", "corruptrepo", "main"]), false);
  });

  it("into archive, --http-trusted without --mirror, or with --bareuseronly-files, still verifies", () => {
    const plain = client(arbor, "arch-plain", "archive");
    expectRefused(plain, arbor(["pull", `--repo=${plain}`, "--http-trusted", "corruptrepo", "main"]), false);
    const buo = client(arbor, "arch-buo", "archive");
    const args = ["pull", `--repo=${buo}`, "--mirror", "--http-trusted", "--bareuseronly-files"];
    expectRefused(buo, arbor([...args, "corruptrepo", "main"]), true);
  });

  it("--mirror without --http-trusted refuses the corrupt object", () => {
    const repo = client(arbor, "mirror-verified", "archive");
    expectRefused(repo, arbor(["pull", `--repo=${repo}`, "--mirror", "corruptrepo", "main"]), true);
  });

  it("--mirror --http-trusted into archive stores the objects as served; fsck then finds it, as ostree's", () => {
    const mine = client(arbor, "mirror-arbor", "archive");
    ok(arbor(["pull", `--repo=${mine}`, "--mirror", "--http-trusted", "corruptrepo", "main"]), "arbor pull");
    expect(ok(arbor(["rev-parse", `--repo=${mine}`, "main"]))).toBe(commit);
    const want = filezFiles(served);
    const got = filezFiles(mine);
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [name, bytes] of want) expect(Buffer.compare(got.get(name)!, bytes), name).toBe(0);
    for (const tool of [arbor, ostree]) {
      const r = tool(["fsck", `--repo=${mine}`]);
      expect(r.code).not.toBe(0);
      expect(r.stderr + r.stdout).toMatch(new RegExp(`Corrupted.*${bad}`));
    }
    // parity: the real ostree stores the very same bytes
    const theirs = client(ostree, "mirror-ostree", "archive");
    ok(
      ostree(["pull", `--repo=${theirs}`, "--mirror", "--http-trusted", "corruptrepo", "main"]),
      "ostree pull",
    );
    const ref = filezFiles(theirs);
    expect([...ref.keys()].sort()).toEqual([...got.keys()].sort());
    for (const [name, bytes] of ref) expect(Buffer.compare(got.get(name)!, bytes), name).toBe(0);
  });

  it("a file:// remote is not affected by --http-trusted (verified as before)", () => {
    const repo = client(arbor, "mirror-file", "archive", `file://${served}`);
    const r = arbor(["pull", `--repo=${repo}`, "--mirror", "--http-trusted", "corruptrepo", "main"]);
    expectRefused(repo, r, true);
  });
});
