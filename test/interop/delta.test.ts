/**
 * Static deltas between arbor and the real ostree, both ways: ostree generates (from scratch, and
 * FROM-TO with a slightly modified large file, so it uses bsdiff), arbor shows, applies offline and
 * pulls them over nginx — the access log must show superblock and parts fetched instead of the
 * objects; arbor generates, `ostree static-delta apply-offline` and `ostree pull` use them. Every
 * repository must pass `ostree fsck` afterwards. A corrupted part is refused. Needs `npm run build`.
 */

import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checksumToMb64 } from "../../src/repo/delta-naming.js";
import { decodeDeltaIndex } from "../../src/repo/delta-store.js";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";
import { type RunningServer, startNginx } from "../helpers/nginx.js";

let t: ReturnType<typeof tempDir>;
const c: Record<string, string> = {};
let osrc: string; // archive repo written by ostree, with ostree's deltas
let asrc: string; // the same commits imported by arbor, with arbor's deltas

/** A delta's directory in `repo`, or (repo "") its URL path. */
function deltaPath(repo: string, from: string | null, to: string): string {
  const tt = checksumToMb64(to);
  const base = repo === "" ? "/deltas" : join(repo, "deltas");
  if (!from) return `${base}/${tt.slice(0, 2)}/${tt.slice(2)}`;
  const f = checksumToMb64(from);
  return `${base}/${f.slice(0, 2)}/${f.slice(2)}-${tt}`;
}

function fsckBoth(repo: string): void {
  ok(ostree(["fsck", `--repo=${repo}`]), "ostree fsck");
  ok(arbor(["fsck", `--repo=${repo}`]), "arbor fsck");
}

function newRepo(tool: typeof arbor, name: string, mode = "bare-user"): string {
  const repo = join(t.dir, name);
  ok(tool(["init", `--repo=${repo}`, `--mode=${mode}`]));
  return repo;
}

function objectRequests(reqs: string[]): string[] {
  return reqs.filter((r) => /^\/objects\/.*\.(filez|dirtree|dirmeta)$/.test(r));
}

beforeAll(() => {
  t = tempDir("arbor-interop-delta-");
  const tree = join(t.dir, "tree");
  mkdirSync(join(tree, "usr/bin"), { recursive: true });
  const big = randomBytes(400_000);
  writeFileSync(join(tree, "usr/bin/big"), big);
  writeFileSync(join(tree, "usr/bin/small"), "small\n");
  symlinkSync("big", join(tree, "usr/bin/link"));
  osrc = join(t.dir, "osrc");
  ok(ostree(["init", `--repo=${osrc}`, "--mode=archive"]));
  c.v1 = ok(ostree(["commit", `--repo=${osrc}`, "-b", "main", "-s", "v1", "--no-xattrs", tree]));
  // a large file changed in scattered places: ostree uses bsdiff for it (v1 → v2)
  for (let i = 0; i < big.length; i += 3000) big[i]! ^= 0xff;
  writeFileSync(join(tree, "usr/bin/big"), big);
  writeFileSync(join(tree, "usr/bin/new"), "new file\n");
  c.v2 = ok(ostree(["commit", `--repo=${osrc}`, "-b", "main", "-s", "v2", "--no-xattrs", tree]));
  ok(ostree(["static-delta", "generate", `--repo=${osrc}`, "--empty", `--to=${c.v2}`]));
  ok(ostree(["static-delta", "generate", `--repo=${osrc}`, `--from=${c.v1}`, `--to=${c.v2}`]));
  // one byte changed: ostree uses rollsum (`r`/`w` from the old object) for it (v2 → v3)
  big[200_001]! ^= 0xff;
  writeFileSync(join(tree, "usr/bin/big"), big);
  c.v3 = ok(ostree(["commit", `--repo=${osrc}`, "-b", "other", "-s", "v3", "--no-xattrs", tree]));
  const roll = ostree(["static-delta", "generate", `--repo=${osrc}`, `--from=${c.v2}`, `--to=${c.v3}`]);
  expect(roll.stderr, roll.stderr).toMatch(/rollsum=1 objects/);
  ok(ostree(["summary", "-u", `--repo=${osrc}`]));
  asrc = newRepo(arbor, "asrc", "archive");
  ok(arbor(["pull-local", `--repo=${asrc}`, osrc, "main"]));
  ok(arbor(["pull-local", `--repo=${asrc}`, osrc, c.v1!]));
}, 120_000);

afterAll(() => t?.cleanup());

describe.runIf(hasOstree)("static deltas: arbor reads ostree's", () => {
  it("shows them exactly as ostree does (bsdiff part included)", () => {
    for (const name of [c.v2!, `${c.v1}-${c.v2}`, `${c.v2}-${c.v3}`]) {
      const mine = ok(arbor(["static-delta", "show", `--repo=${osrc}`, name]));
      expect(mine).toBe(ok(ostree(["static-delta", "show", `--repo=${osrc}`, name])));
    }
    expect(ok(arbor(["static-delta", "show", `--repo=${osrc}`, `${c.v1}-${c.v2}`]))).toMatch(/bspatch=1/);
    expect(ok(arbor(["static-delta", "show", `--repo=${osrc}`, `${c.v2}-${c.v3}`]))).toMatch(
      /setread=[1-9]\d* unsetread=[1-9]/,
    );
    expect(ok(arbor(["static-delta", "list", `--repo=${osrc}`]))).toBe(
      ok(ostree(["static-delta", "list", `--repo=${osrc}`])),
    );
  });

  it("applies them offline (from scratch, then FROM-TO via bspatch); ostree fsck passes", () => {
    const scratch = newRepo(arbor, "apply-scratch");
    ok(arbor(["static-delta", "apply-offline", `--repo=${scratch}`, deltaPath(osrc, null, c.v2!)]));
    fsckBoth(scratch);
    const ft = newRepo(arbor, "apply-ft");
    const r = arbor(["static-delta", "apply-offline", `--repo=${ft}`, deltaPath(osrc, c.v1!, c.v2!)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Commit ${c.v1}, which is the delta source, is not in repository`);
    ok(arbor(["pull-local", `--repo=${ft}`, osrc, c.v1!]));
    ok(arbor(["static-delta", "apply-offline", `--repo=${ft}`, deltaPath(osrc, c.v1!, c.v2!)]));
    fsckBoth(ft);
    ok(arbor(["static-delta", "apply-offline", `--repo=${ft}`, deltaPath(osrc, c.v2!, c.v3!)]));
    fsckBoth(ft);
    expect(ok(arbor(["ls", `--repo=${ft}`, "-R", c.v3!]))).toBe(
      ok(ostree(["ls", `--repo=${osrc}`, "-R", c.v3!])),
    );
    expect(ok(arbor(["ls", `--repo=${ft}`, "-R", c.v2!]))).toBe(
      ok(ostree(["ls", `--repo=${osrc}`, "-R", c.v2!])),
    );
  });

  it("applies ostree's single-file delta (parts inline in the superblock) offline", () => {
    const file = join(t.dir, "ostree-one.delta");
    const gen = ["static-delta", "generate", `--repo=${osrc}`, "--empty", `--to=${c.v2}`];
    ok(ostree([...gen, "--inline", `--filename=${file}`]));
    const one = newRepo(arbor, "apply-inline");
    ok(arbor(["static-delta", "apply-offline", `--repo=${one}`, file]));
    fsckBoth(one);
    expect(ok(arbor(["ls", `--repo=${one}`, "-R", c.v2!]))).toBe(
      ok(ostree(["ls", `--repo=${osrc}`, "-R", c.v2!])),
    );
  });

  it("pulls them over nginx: superblock and part fetched, not the objects", async () => {
    const srv: RunningServer = await startNginx({ root: osrc, dir: join(t.dir, "nginx-o") });
    try {
      const repo = newRepo(arbor, "pull-o");
      ok(arbor(["remote", "add", `--repo=${repo}`, "--no-gpg-verify", "origin", srv.url]));
      ok(arbor(["pull", `--repo=${repo}`, "origin", `main@${c.v1}`]));
      const before = srv.requests().length;
      const dry = ok(
        arbor(["pull", `--repo=${repo}`, "--dry-run", "--require-static-deltas", "origin", "main"]),
      );
      expect(dry).toMatch(/^Delta update: 0\/1 parts, 0 bytes\//);
      ok(arbor(["pull", `--repo=${repo}`, "origin", "main"]));
      const reqs = srv.requests().slice(before);
      const dir = deltaPath("", c.v1!, c.v2!);
      expect(reqs).toContain(`${dir}/superblock`);
      expect(reqs).toContain(`${dir}/0`);
      expect(reqs.some((r) => r.startsWith("/delta-indexes/"))).toBe(true);
      expect(objectRequests(reqs)).toEqual([]);
      expect(ok(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(c.v2);
      fsckBoth(repo);
      // from nothing: the from-scratch delta
      const fresh = newRepo(arbor, "pull-o-scratch");
      ok(arbor(["remote", "add", `--repo=${fresh}`, "--no-gpg-verify", "origin", srv.url]));
      const b2 = srv.requests().length;
      ok(arbor(["pull", `--repo=${fresh}`, "--require-static-deltas", "origin", "main"]));
      const r2 = srv.requests().slice(b2);
      expect(r2).toContain(`${deltaPath("", null, c.v2!)}/superblock`);
      expect(objectRequests(r2)).toEqual([]);
      fsckBoth(fresh);
      // --disable-static-deltas: objects only
      const plain = newRepo(arbor, "pull-o-plain");
      ok(arbor(["remote", "add", `--repo=${plain}`, "--no-gpg-verify", "origin", srv.url]));
      const b3 = srv.requests().length;
      ok(arbor(["pull", `--repo=${plain}`, "--disable-static-deltas", "origin", "main"]));
      const r3 = srv.requests().slice(b3);
      expect(r3.some((r) => r.startsWith("/deltas/"))).toBe(false);
      expect(objectRequests(r3).length).toBeGreaterThan(0);
    } finally {
      await srv.stop();
    }
  }, 120_000);

  it("refuses a delta part that does not match its superblock, storing no commit", async () => {
    const bad = join(t.dir, "bad-srv");
    cpSync(osrc, bad, { recursive: true });
    const part = join(deltaPath(bad, null, c.v2!), "0");
    const bytes = readFileSync(part);
    bytes[bytes.length - 5]! ^= 1;
    writeFileSync(part, bytes);
    const srv = await startNginx({ root: bad, dir: join(t.dir, "nginx-bad") });
    try {
      const repo = newRepo(arbor, "pull-bad");
      ok(arbor(["remote", "add", `--repo=${repo}`, "--no-gpg-verify", "origin", srv.url]));
      const r = arbor(["pull", `--repo=${repo}`, "--require-static-deltas", "origin", "main"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/part 0 checksum is [0-9a-f]{64}, expected/);
      expect(arbor(["rev-parse", `--repo=${repo}`, c.v2!]).code).toBe(0); // a checksum parses…
      expect(readdirSync(join(repo, "objects")).length).toBe(0); // …but nothing was stored
    } finally {
      await srv.stop();
    }
  }, 60_000);
});

describe.runIf(hasOstree)("static deltas: ostree reads arbor's", () => {
  it("ostree shows, applies offline and verifies what arbor generates", () => {
    ok(arbor(["static-delta", "generate", `--repo=${asrc}`, "--empty", `--to=${c.v2}`]));
    const gen = arbor(["static-delta", "generate", `--repo=${asrc}`, `--from=${c.v1}`, `--to=${c.v2}`]);
    expect(gen.code, gen.stderr).toBe(0);
    expect(gen.stdout).toContain(`  From: ${c.v1}\n  To:   ${c.v2}`);
    expect(gen.stderr).toMatch(/bsdiff=1 objects/);
    for (const name of [c.v2!, `${c.v1}-${c.v2}`]) {
      expect(ok(ostree(["static-delta", "show", `--repo=${asrc}`, name]))).toBe(
        ok(arbor(["static-delta", "show", `--repo=${asrc}`, name])),
      );
    }
    const scratch = newRepo(ostree, "o-apply-scratch");
    ok(ostree(["static-delta", "apply-offline", `--repo=${scratch}`, deltaPath(asrc, null, c.v2!)]));
    fsckBoth(scratch);
    const ft = newRepo(ostree, "o-apply-ft");
    ok(ostree(["pull-local", `--repo=${ft}`, osrc, c.v1!]));
    ok(ostree(["static-delta", "apply-offline", `--repo=${ft}`, deltaPath(asrc, c.v1!, c.v2!)]));
    fsckBoth(ft);
    // a single-file delta
    const file = join(t.dir, "one.delta");
    ok(
      arbor([
        "static-delta",
        "generate",
        `--repo=${asrc}`,
        "--empty",
        `--to=${c.v2}`,
        "--inline",
        `--filename=${file}`,
      ]),
    );
    const one = newRepo(ostree, "o-apply-inline");
    ok(ostree(["static-delta", "apply-offline", `--repo=${one}`, file]));
    fsckBoth(one);
    // a signed superblock (dummy engine), in a copy: ostree 2022.7 cannot pull signed deltas
    const signed = join(t.dir, "asrc-signed");
    cpSync(asrc, signed, { recursive: true });
    const env = { OSTREE_DUMMY_SIGN_ENABLED: "1" };
    const sargs = [`--repo=${signed}`, `--from=${c.v1}`, `--to=${c.v2}`, "--sign-type=dummy", "--sign=k1"];
    ok(arbor(["static-delta", "generate", ...sargs], { env }));
    const verify = ["static-delta", "verify", `--repo=${signed}`, "--sign-type=dummy", `${c.v1}-${c.v2}`];
    expect(ostree([...verify, "k1"], { env }).stdout).toContain("Verification OK");
    expect(ostree([...verify, "k2"], { env }).stdout).toContain("Verification fails");
    expect(arbor([...verify, "k1"], { env }).stdout).toContain("Verification OK");
    expect(ok(ostree(["static-delta", "show", `--repo=${signed}`, `${c.v1}-${c.v2}`]))).toContain(
      "Signed: yes",
    );
  }, 120_000);

  it("summary -u writes the delta index ostree does, and ostree pulls arbor's deltas over nginx", async () => {
    ok(arbor(["summary", "-u", `--repo=${asrc}`]));
    const idx = (repo: string): Buffer => {
      const m = checksumToMb64(c.v2!);
      return readFileSync(join(repo, "delta-indexes", m.slice(0, 2), `${m.slice(2)}.index`));
    };
    const mine = idx(asrc);
    const copy = join(t.dir, "asrc-copy");
    cpSync(asrc, copy, { recursive: true });
    ok(ostree(["static-delta", "reindex", `--repo=${copy}`]));
    // same entries; not always the same bytes: ostree sorts the names by pointer value (g_strcmp0
    // given to g_ptr_array_sort), so its own hash-table insertion order varies from run to run
    expect(decodeDeltaIndex(idx(copy))).toEqual(decodeDeltaIndex(mine));
    expect(decodeDeltaIndex(mine).size).toBe(2);
    expect(ok(arbor(["static-delta", "indexes", `--repo=${asrc}`]))).toBe(c.v2);
    const srv = await startNginx({ root: asrc, dir: join(t.dir, "nginx-a") });
    try {
      const repo = newRepo(ostree, "o-pull");
      ok(ostree(["remote", "add", `--repo=${repo}`, "--no-gpg-verify", "origin", srv.url]));
      ok(ostree(["pull", `--repo=${repo}`, "origin", `main@${c.v1}`]));
      const before = srv.requests().length;
      ok(ostree(["pull", `--repo=${repo}`, "--require-static-deltas", "origin", "main"]));
      const reqs = srv.requests().slice(before);
      expect(reqs).toContain(`${deltaPath("", c.v1!, c.v2!)}/0`);
      fsckBoth(repo);
      expect(ok(ostree(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(c.v2);
    } finally {
      await srv.stop();
    }
  }, 120_000);
});
