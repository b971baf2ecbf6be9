/**
 * `pull REMOTE REF` from a `file://` remote in every mode, against ostree: ostree opens such a
 * remote as a local repository and imports its objects, so a bare or bare-user source must give
 * the same refs and objects as ostree's own pull (`ostree fsck` passing); a corrupt source object
 * is copied when trusted (as ostree) and refused, named, with `--untrusted`; remote refs, `--mirror`,
 * `--depth` and commit signature requirements keep working.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RepoMode } from "../../src/repo/repo.js";
import { arborInProcess, type InProcessResult } from "../helpers/in-process.js";

let tmp: string;
let count = 0;
const SOURCES = new Map<RepoMode, string>();

function ostree(args: string[]): string {
  return execFileSync("ostree", args, { cwd: tmp, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function arbor(args: string[]): Promise<InProcessResult> {
  return arborInProcess(args, tmp);
}

function ostreeRun(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("ostree", args, { cwd: tmp, encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A repository with remote `origin` at `src` (no GPG unless asked). */
function client(mode: RepoMode, src: string, gpg = false): string {
  const p = join(tmp, `client${count++}-${mode}`);
  ostree(["init", `--repo=${p}`, `--mode=${mode}`]);
  ostree(["remote", "add", `--repo=${p}`, ...(gpg ? [] : ["--no-gpg-verify"]), "origin", `file://${src}`]);
  return p;
}

/** Every ref and object file (path and size), sorted: what a repository holds. */
function holdings(repo: string): string {
  return execFileSync("find", ["refs", "objects", "-type", "f", "-printf", "%p %s\\n"], {
    cwd: repo,
    encoding: "utf8",
  })
    .split("\n")
    .sort()
    .join("\n");
}

function fsck(repo: string): number {
  return spawnSync("ostree", ["fsck", `--repo=${repo}`], { encoding: "utf8" }).status ?? -1;
}

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-interop-pullfile-")));
  const t = join(tmp, "tree");
  fs.mkdirSync(join(t, "usr/bin"), { recursive: true });
  fs.writeFileSync(join(t, "usr/bin/tool"), "#!/bin/sh\necho hi\n");
  fs.chmodSync(join(t, "usr/bin/tool"), 0o755);
  fs.writeFileSync(join(t, "conf"), "a=1\n");
  fs.writeFileSync(join(t, "empty"), "");
  fs.symlinkSync("usr/bin/tool", join(t, "link"));
  for (const mode of ["bare-user", "bare", "bare-user-only", "archive"] as RepoMode[]) {
    const src = join(tmp, `src-${mode}`);
    ostree(["init", `--repo=${src}`, `--mode=${mode}`]);
    fs.writeFileSync(join(t, "conf"), "a=1\n");
    ostree(["commit", `--repo=${src}`, "-b", "main", "--timestamp=2024-01-01", "--owner-uid=0", t]);
    fs.writeFileSync(join(t, "conf"), `a=2 ${mode}\n`);
    ostree(["commit", `--repo=${src}`, "-b", "main", "--timestamp=2024-01-02", "--owner-uid=0", t]);
    ostree(["commit", `--repo=${src}`, "-b", "other", "--timestamp=2024-01-03", "--owner-uid=0", t]);
    ostree(["summary", "-u", `--repo=${src}`]);
    SOURCES.set(mode, src);
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(["bare-user", "bare", "bare-user-only"] as RepoMode[])(
  "from a %s file:// remote",
  (srcMode) => {
    it.each(["archive", "bare-user"] as RepoMode[])(
      "into %s: same refs, objects and output as ostree",
      async (dst) => {
        const src = SOURCES.get(srcMode)!;
        const mine = client(dst, src);
        const theirs = client(dst, src);
        const r = await arbor(["pull", `--repo=${mine}`, "origin", "main"]);
        const o = ostreeRun(["pull", `--repo=${theirs}`, "origin", "main"]);
        expect(r.err).toBe("");
        expect(r.code).toBe(0);
        expect(o.code).toBe(0);
        expect(r.out).toBe(o.out);
        expect(r.out).toMatch(/^[1-9]\d* metadata, [1-9]\d* content objects imported; .+ content written\n$/);
        expect(fsck(mine)).toBe(0);
        expect(holdings(mine)).toBe(holdings(theirs));
        expect(holdings(mine)).toContain("refs/remotes/origin/main");
      },
    );
  },
);

describe("file:// pull options against ostree", () => {
  it("--depth=-1 imports the history like ostree", async () => {
    const src = SOURCES.get("bare-user")!;
    const [mine, theirs] = [client("archive", src), client("archive", src)];
    expect((await arbor(["pull", `--repo=${mine}`, "--depth=-1", "origin", "main"])).code).toBe(0);
    ostree(["pull", `--repo=${theirs}`, "--depth=-1", "origin", "main"]);
    expect(holdings(mine)).toBe(holdings(theirs));
    expect(fsck(mine)).toBe(0);
  });

  it("--mirror of everything writes refs/heads and copies the summary like ostree", async () => {
    const src = SOURCES.get("bare")!;
    const [mine, theirs] = [client("archive", src), client("archive", src)];
    const r = await arbor(["pull", `--repo=${mine}`, "--mirror", "origin"]);
    expect(r.err).toBe("");
    ostree(["pull", `--repo=${theirs}`, "--mirror", "origin"]);
    expect(holdings(mine)).toBe(holdings(theirs));
    expect(holdings(mine)).toContain("refs/heads/other");
    expect(fs.readFileSync(join(mine, "summary"))).toEqual(fs.readFileSync(join(src, "summary")));
  });

  it("refuses an unsigned commit when the remote requires GPG signatures, as ostree", async () => {
    const src = SOURCES.get("bare-user")!;
    const [mine, theirs] = [client("archive", src, true), client("archive", src, true)];
    const r = await arbor(["pull", `--repo=${mine}`, "origin", "main"]);
    const o = ostreeRun(["pull", `--repo=${theirs}`, "origin", "main"]);
    expect(o.code).not.toBe(0);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/signatures found/);
    expect(fs.existsSync(join(mine, "refs/remotes/origin/main"))).toBe(false);
  });

  it("refuses --subpath from a non-archive source, naming it", async () => {
    const src = SOURCES.get("bare-user")!;
    const r = await arbor(["pull", `--repo=${client("archive", src)}`, "--subpath=/usr", "origin", "main"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`Cannot pull subpaths from "${src}"`);
  });

  it("archive sources still go through the fetcher (fetched, verified)", async () => {
    const src = SOURCES.get("archive")!;
    const mine = client("archive", src);
    const r = await arbor(["pull", `--repo=${mine}`, "origin", "main"]);
    expect(r.code).toBe(0);
    expect(fsck(mine)).toBe(0);
    expect(ostree(["rev-parse", `--repo=${mine}`, "origin:main"])).toBe(
      ostree(["rev-parse", `--repo=${src}`, "main"]),
    );
  });
});

describe("a corrupt object in a bare-user file:// remote", () => {
  let src: string;
  let victim: string;
  beforeAll(() => {
    src = join(tmp, "corrupt");
    execFileSync("cp", ["-a", SOURCES.get("bare-user")!, src]); // keeps the user.ostreemeta xattrs
    const conf = ostree(["ls", `--repo=${src}`, "-C", "main", "/conf"])
      .trim()
      .split(/\s+/)[4]!;
    victim = conf;
    const p = join(src, "objects", conf.slice(0, 2), `${conf.slice(2)}.file`);
    fs.chmodSync(p, 0o644);
    fs.writeFileSync(p, "b=evil\n");
  });

  it("is copied when trusted, as ostree (fsck then finds it)", async () => {
    const [mine, theirs] = [client("archive", src), client("archive", src)];
    const r = await arbor(["pull", `--repo=${mine}`, "origin", "main"]);
    const o = ostreeRun(["pull", `--repo=${theirs}`, "origin", "main"]);
    expect(r.code).toBe(o.code);
    expect(fsck(mine)).not.toBe(0);
    expect(fsck(theirs)).not.toBe(0);
  });

  it("is refused with --untrusted, naming it, keeping no ref", async () => {
    const [mine, theirs] = [client("archive", src), client("archive", src)];
    const r = await arbor(["pull", `--repo=${mine}`, "--untrusted", "origin", "main"]);
    const o = ostreeRun(["pull", `--repo=${theirs}`, "--untrusted", "origin", "main"]);
    expect(o.code).toBe(1);
    expect(o.err).toContain(victim);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`Corrupted file object; checksum expected='${victim}'`);
    expect(fs.existsSync(join(mine, "refs/remotes/origin/main"))).toBe(false);
    expect(fsck(mine)).toBe(0);
  });
});
