/**
 * pull-local between arbor and ostree, every pair of repository modes, both ways: arbor pulls from
 * repositories ostree made, ostree pulls from repositories arbor filled; `ostree fsck` must pass and
 * both tools must check out the same files. And a corrupted source is refused.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkoutTree } from "../../src/repo/checkout.js";
import { pullLocal } from "../../src/repo/pull-local.js";
import { Repo, type RepoMode } from "../../src/repo/repo.js";
import { arborInProcess, type InProcessResult } from "../helpers/in-process.js";

const MODES: RepoMode[] = ["archive", "bare", "bare-user", "bare-user-only"];
let tmp: string;
let count = 0;

function ostree(args: string[]): string {
  return execFileSync("ostree", args, { cwd: tmp, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function arbor(args: string[]): Promise<InProcessResult> {
  return arborInProcess(args, tmp);
}

function newRepo(mode: RepoMode): string {
  const p = join(tmp, `repo${count++}-${mode}`);
  ostree(["init", `--repo=${p}`, `--mode=${mode}`]);
  return p;
}

/** name size mode owner type target, sorted: what a checkout holds. */
function listing(dir: string): string {
  return execFileSync("find", [".", "-printf", "%P %s %#m %U/%G %y %l\\n"], { cwd: dir, encoding: "utf8" })
    .split("\n")
    .sort()
    .join("\n");
}

function fsckOk(repo: string): void {
  const r = spawnSync("ostree", ["fsck", `--repo=${repo}`], { encoding: "utf8" });
  expect(r.status, `ostree fsck ${repo}: ${r.stdout}${r.stderr}`).toBe(0);
}

/** The reference: an ostree checkout of `rev` from the fixture repo. */
const reference = new Map<string, string>();

let fixture: string; // archive repo made by ostree, branches "main" (2 commits) and "other"

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-interop-pull-")));
  fixture = newRepo("archive");
  const t = join(tmp, "tree");
  fs.mkdirSync(join(t, "usr/bin"), { recursive: true });
  fs.mkdirSync(join(t, "etc/empty"), { recursive: true });
  fs.writeFileSync(join(t, "usr/bin/tool"), "#!/bin/sh\necho hi\n");
  fs.chmodSync(join(t, "usr/bin/tool"), 0o755);
  fs.writeFileSync(join(t, "etc/conf"), "a=1\n");
  fs.writeFileSync(join(t, "empty-file"), "");
  fs.symlinkSync("usr/bin/tool", join(t, "link"));
  fs.symlinkSync("/nonexistent/target", join(t, "dangling"));
  fs.writeFileSync(join(t, "big"), Buffer.alloc(9 * 1024 * 1024, 0x5a)); // over the streaming threshold
  ostree(["commit", `--repo=${fixture}`, "-b", "main", "--timestamp=2024-01-01", t]);
  fs.writeFileSync(join(t, "etc/conf"), "a=2\n");
  ostree(["commit", `--repo=${fixture}`, "-b", "main", "--timestamp=2024-01-02", t]);
  fs.rmSync(join(t, "big"));
  ostree(["commit", `--repo=${fixture}`, "-b", "other", "--timestamp=2024-01-03", t]);
  for (const rev of ["main", "other"]) {
    const co = join(tmp, `ref-${rev}`);
    ostree(["checkout", `--repo=${fixture}`, "-U", rev, co]);
    reference.set(rev, listing(co));
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function arborReads(repo: string): Promise<void> {
  for (const rev of ["main", "other"]) {
    const co = join(tmp, `co${count++}`);
    await checkoutTree(Repo.open(repo), { rev, dest: co, userMode: true });
    expect(listing(co), `${repo} ${rev}`).toBe(reference.get(rev));
  }
}

describe.each(MODES)("from a %s repository", (srcMode) => {
  let src: string;
  beforeAll(() => {
    src = newRepo(srcMode);
    ostree(["pull-local", `--repo=${src}`, fixture]);
  });

  it.each(MODES)("arbor pulls into %s; ostree fsck passes and both read it", async (dstMode) => {
    const dst = newRepo(dstMode);
    const r = await arbor(["pull-local", `--repo=${dst}`, src]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^\d+ metadata, \d+ content objects imported; .+ content written\n$/);
    fsckOk(dst);
    expect(ostree(["rev-parse", `--repo=${dst}`, "main"])).toBe(
      ostree(["rev-parse", `--repo=${src}`, "main"]),
    );
    await arborReads(dst);
  });

  it.each(MODES)("ostree pulls from arbor's copy into %s", async (dstMode) => {
    const mid = Repo.create(join(tmp, `arbor${count++}`), { mode: srcMode });
    await pullLocal(Repo.open(src), mid, { depth: -1 });
    fsckOk(mid.path);
    const dst = newRepo(dstMode);
    ostree(["pull-local", `--repo=${dst}`, "--depth=-1", mid.path]);
    fsckOk(dst);
    const co = join(tmp, `co${count++}`);
    ostree(["checkout", `--repo=${dst}`, "-U", "main", co]);
    expect(listing(co)).toBe(reference.get("main"));
  });
});

describe("pull-local options against ostree", () => {
  it("writes remote refs and history like ostree", async () => {
    const a = newRepo("bare-user");
    const o = newRepo("bare-user");
    expect(
      (await arbor(["pull-local", `--repo=${a}`, "--remote=origin", "--depth=1", fixture, "main"])).code,
    ).toBe(0);
    ostree(["pull-local", `--repo=${o}`, "--remote=origin", "--depth=1", fixture, "main"]);
    expect(ostree(["refs", `--repo=${a}`])).toBe(ostree(["refs", `--repo=${o}`]));
    expect(ostree(["log", `--repo=${a}`, "origin:main"])).toBe(ostree(["log", `--repo=${o}`, "origin:main"]));
    fsckOk(a);
  });

  it("--commit-metadata-only leaves a partial commit ostree accepts and completes", async () => {
    const a = newRepo("archive");
    expect(
      (await arbor(["pull-local", `--repo=${a}`, "--commit-metadata-only", fixture, "other"])).code,
    ).toBe(0);
    const cs = ostree(["rev-parse", `--repo=${a}`, "other"]).trim();
    expect(fs.existsSync(join(a, "state", `${cs}.commitpartial`))).toBe(true);
    ostree(["pull-local", `--repo=${a}`, fixture, "other"]);
    fsckOk(a);
    expect(fs.existsSync(join(a, "state", `${cs}.commitpartial`))).toBe(false);
  });

  it("hard-links archive objects like ostree's own test (z2 to z2 default hardlink)", async () => {
    const a = newRepo("archive");
    expect((await arbor(["pull-local", `--repo=${a}`, fixture])).code).toBe(0);
    let n = 0;
    for (const d of fs.readdirSync(join(a, "objects"))) {
      for (const f of fs.readdirSync(join(a, "objects", d)).filter((x) => x.endsWith(".filez"))) {
        expect(fs.statSync(join(a, "objects", d, f)).ino).toBe(
          fs.statSync(join(fixture, "objects", d, f)).ino,
        );
        n++;
      }
    }
    expect(n).toBeGreaterThan(3);
  });
});

describe("pull-local --gpg-verify", () => {
  const KEY1 = "7FCA23D8472CDAFA";
  let home: string;
  beforeAll(() => {
    home = join(tmp, "gpghome");
    execFileSync("cp", ["-a", "/usr/libexec/installed-tests/libostree/gpghome", home]);
    fs.chmodSync(home, 0o700);
  });
  afterAll(() => {
    spawnSync("gpgconf", ["--kill", "gpg-agent"], { env: { ...process.env, GNUPGHOME: home } });
  });

  it("accepts a commit signed by the remote's key and refuses other or no signatures", async () => {
    const src = newRepo("archive");
    ostree(["pull-local", `--repo=${src}`, fixture, "main", "other"]);
    ostree(["gpg-sign", `--repo=${src}`, `--gpg-homedir=${home}`, "main", KEY1]);
    const withKey = (key: string): string => {
      const dst = newRepo("archive");
      ostree([
        "remote",
        "add",
        `--repo=${dst}`,
        `--gpg-import=${join(home, key)}`,
        "origin",
        `file://${src}`,
      ]);
      return dst;
    };
    const good = withKey("key1.asc");
    const ok = await arbor(["pull-local", `--repo=${good}`, "--remote=origin", "--gpg-verify", src, "main"]);
    expect(ok.err).toBe("");
    fsckOk(good);
    const unsigned = await arbor([
      "pull-local",
      `--repo=${good}`,
      "--remote=origin",
      "--gpg-verify",
      src,
      "other",
    ]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.err).toContain("GPG verification enabled, but no signatures found");
    const wrong = withKey("key2.asc");
    const bad = await arbor([
      "pull-local",
      `--repo=${wrong}`,
      "--remote=origin",
      "--gpg-verify",
      src,
      "main",
    ]);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error: Commit [0-9a-f]{64}: /);
    expect(execFileSync("find", [join(wrong, "objects"), "-type", "f"], { encoding: "utf8" })).toBe("");
  });
});

describe("pull-local from a corrupted ostree repository", () => {
  it.each(["bare", "archive"] as const)(
    "refuses a corrupted %s content object, naming it, storing nothing",
    async (mode) => {
      const src = newRepo(mode);
      ostree(["pull-local", `--repo=${src}`, fixture, "other"]);
      const objs = execFileSync("find", [join(src, "objects"), "-type", "f", "-name", "*.file*"], {
        encoding: "utf8",
      })
        .trim()
        .split("\n");
      const victim = objs.find((p) => fs.statSync(p).size > 0 && fs.statSync(p).size < 4096)!;
      const checksum = victim
        .split("/")
        .slice(-2)
        .join("")
        .replace(/\.filez?$/, "");
      if (mode === "bare") fs.appendFileSync(victim, "tampered");
      else {
        const b = fs.readFileSync(victim);
        b[b.length - 3] = b[b.length - 3]! ^ 0xff; // flip a bit in the deflate stream
        fs.writeFileSync(victim, b);
      }
      for (const dstMode of ["archive", "bare"] as const) {
        const dst = newRepo(dstMode);
        const r = await arbor(["pull-local", "--untrusted", `--repo=${dst}`, src]);
        expect(r.code).toBe(1);
        expect(r.err).toContain(checksum);
        expect(execFileSync("find", [join(dst, "objects"), "-type", "f"], { encoding: "utf8" })).toBe("");
        expect(fs.readdirSync(join(dst, "refs/heads"))).toEqual([]);
        fsckOk(dst);
      }
      // Without --untrusted a local source is trusted, as ostree trusts it: a copy into another mode
      // is not re-hashed, so damaged data that still decodes is copied by both tools and fsck names
      // it. Arbor still decodes the content header and the deflate stream: when the archive damage
      // lands there (a symlink target that is no longer UTF-8, say), arbor refuses it, naming the
      // object, where ostree copies it (with a GLib-CRITICAL).
      const otherMode = mode === "bare" ? "archive" : "bare";
      const mine = newRepo(otherMode);
      const theirs = newRepo(otherMode);
      const r = await arbor(["pull-local", `--repo=${mine}`, src]);
      const o = spawnSync("ostree", ["pull-local", `--repo=${theirs}`, src], { encoding: "utf8" });
      expect(o.status).toBe(0);
      if (r.code !== 0) {
        expect(mode).toBe("archive");
        expect(r.err).toMatch(
          new RegExp(`content object ${checksum}: (Invalid content header|.*deflate|.*inflate)`, "i"),
        );
        expect(fs.readdirSync(join(mine, "refs/heads"))).toEqual([]);
        return;
      }
      for (const repo of [mine, theirs]) {
        const fsck = spawnSync("ostree", ["fsck", `--repo=${repo}`], { encoding: "utf8" });
        expect(fsck.status).not.toBe(0);
        expect(fsck.stderr).toMatch(new RegExp(`Corrupted file object; checksum expected='${checksum}'`));
      }
    },
  );

  it("a commit stored under another name: trusted pull-local copies it (fsck names it), --untrusted refuses, in ostree's words", async () => {
    const src = newRepo("archive");
    const files = join(tmp, `renamed-${count++}`);
    fs.mkdirSync(files);
    fs.writeFileSync(join(files, "f"), "content\n");
    ostree(["commit", `--repo=${src}`, "-b", "main", `--tree=dir=${files}`]);
    const rev = ostree(["rev-parse", `--repo=${src}`, "main"]).trim();
    const bad = createHash("sha256").update(`${rev} hello\n`).digest("hex");
    fs.mkdirSync(join(src, "objects", bad.slice(0, 2)), { recursive: true });
    fs.renameSync(
      join(src, "objects", rev.slice(0, 2), `${rev.slice(2)}.commit`),
      join(src, "objects", bad.slice(0, 2), `${bad.slice(2)}.commit`),
    );
    fs.writeFileSync(join(src, "refs/heads/main"), `${bad}\n`);
    const words = `Corrupted commit object; checksum expected='${bad}' actual='${rev}'`;
    const trusted = newRepo("bare-user");
    expect((await arbor(["pull-local", `--repo=${trusted}`, src, "main"])).code).toBe(0);
    const fsck = spawnSync("ostree", ["fsck", `--repo=${trusted}`], { encoding: "utf8" });
    expect(fsck.status).not.toBe(0);
    expect(fsck.stderr).toContain(words);
    const untrusted = newRepo("bare-user");
    const r = await arbor(["pull-local", "--untrusted", `--repo=${untrusted}`, src, "main"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(words);
    expect(fs.readdirSync(join(untrusted, "refs/heads"))).toEqual([]);
  });

  it("without refs, a source with remote refs is refused as ostree does; a missing ref is named", async () => {
    const src = newRepo("archive");
    const files = join(tmp, `remote-refs-${count++}`);
    fs.mkdirSync(files);
    fs.writeFileSync(join(files, "f"), "x\n");
    ostree(["commit", `--repo=${src}`, "-b", "localbranch", `--tree=dir=${files}`]);
    const rev = ostree(["rev-parse", `--repo=${src}`, "localbranch"]).trim();
    ostree(["refs", `--repo=${src}`, "--create=origin:main", rev]);
    const dst = newRepo("archive");
    const o = spawnSync("ostree", ["pull-local", `--repo=${dst}`, src], { encoding: "utf8" });
    const r = await arbor(["pull-local", `--repo=${dst}`, src]);
    expect(r.code).toBe(o.status);
    expect(r.err).toContain("error: Invalid ref name origin:main");
    expect(o.stderr).toContain("error: Invalid ref name origin:main");
    const missing = await arbor(["pull-local", `--repo=${dst}`, src, "nosuchbranch"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("error: Refspec 'nosuchbranch' not found");
    expect((await arbor(["pull-local", `--repo=${dst}`, src, "localbranch"])).code).toBe(0);
    fsckOk(dst);
  });

  it("without --untrusted, links a same-mode object as is (ostree's trust in local repos); fsck names it", async () => {
    const src = newRepo("bare");
    const files = join(tmp, `trust-src-${count++}`);
    fs.mkdirSync(files);
    fs.writeFileSync(join(files, "only"), "trusted local data\n");
    ostree(["commit", `--repo=${src}`, "-b", "main", `--tree=dir=${files}`]);
    const victim = execFileSync(
      "find",
      [join(src, "objects"), "-type", "f", "-name", "*.file", "-size", "+0"],
      {
        encoding: "utf8",
      },
    )
      .trim()
      .split("\n")[0]!;
    const checksum = victim
      .split("/")
      .slice(-2)
      .join("")
      .replace(/\.file$/, "");
    fs.appendFileSync(victim, "tampered");
    const dst = newRepo("bare");
    const untrusted = await arbor(["pull-local", "--untrusted", `--repo=${dst}`, src]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.err).toMatch(new RegExp(`Corrupted.*${checksum}`));
    const trusted = await arbor(["pull-local", `--repo=${dst}`, src]);
    expect(trusted.code).toBe(0);
    const fsck = spawnSync("ostree", ["fsck", `--repo=${dst}`], { encoding: "utf8" });
    expect(fsck.status).not.toBe(0);
    expect(fsck.stderr).toMatch(new RegExp(`Corrupted.*${checksum}`));
  });
});
