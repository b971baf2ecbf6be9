/**
 * Interop for fsck and prune: each tool accepts what the other leaves behind, and on the same
 * damage both say the same thing (same lines, same exit code, same partial markers).
 * Needs the real `ostree` and a built `bin/arbor` (`npm run build`).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, type RunResult, tempDir } from "../helpers/cli.js";

const isRoot = process.getuid?.() === 0;

/** Output without ostree's non-TTY progress lines ("fsck objects (i/N) P%"). */
function lines(r: RunResult): { code: number; stdout: string; stderr: string } {
  const strip = (s: string) =>
    s
      .split("\n")
      .filter((l) => !/^fsck objects \(\d+\/\d+\)/.test(l))
      .join("\n");
  return { code: r.code, stdout: strip(r.stdout), stderr: strip(r.stderr) };
}

function files(dir: string, sub: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(sub);
  return out.sort();
}

/** `cp -a`: keeps xattrs (bare-user metadata), owners, modes and symlinks. */
function copyRepo(from: string, to: string): void {
  const r = spawnSync("cp", ["-a", from, to]);
  if (r.status !== 0) throw new Error(`cp -a failed: ${r.stderr}`);
}

function objectFile(repo: string, ext: string, nth = 0): string {
  const all = files(repo, "objects").filter((f) => f.endsWith(`.${ext}`));
  return join(repo, all[nth]!);
}

describe.skipIf(!hasOstree)("fsck and prune interop with ostree", () => {
  let t: ReturnType<typeof tempDir>;
  let src: string;

  beforeAll(() => {
    t = tempDir("arbor-fsck-prune-interop-");
    src = join(t.dir, "src");
    mkdirSync(join(src, "sub/deeper"), { recursive: true });
    writeFileSync(join(src, "a"), "hello\n");
    writeFileSync(join(src, "sub/b"), "world\n");
    writeFileSync(join(src, "sub/deeper/c"), Buffer.alloc(300_000, 7));
    writeFileSync(join(src, "empty"), "");
  });
  afterAll(() => t.cleanup());

  /** A repo written by `tool` with two commits on main and one orphan commit. */
  function makeRepo(tool: typeof arbor, mode: string, name: string): string {
    const repo = join(t.dir, name);
    ok(tool(["init", `--repo=${repo}`, `--mode=${mode}`]), "init");
    ok(
      tool([
        "commit",
        `--repo=${repo}`,
        "-b",
        "main",
        "-s",
        "one",
        "--timestamp=2020-01-01 00:00:00 +0000",
        src,
      ]),
      "commit 1",
    );
    writeFileSync(join(src, "a"), "hello again\n");
    ok(
      tool([
        "commit",
        `--repo=${repo}`,
        "-b",
        "main",
        "-s",
        "two",
        "--timestamp=2020-01-02 00:00:00 +0000",
        src,
      ]),
      "commit 2",
    );
    writeFileSync(join(src, "orphan"), "only in the orphan\n");
    ok(tool(["commit", `--repo=${repo}`, "--orphan", "-s", "orphan", src]), "orphan commit");
    unlinkSync(join(src, "orphan"));
    writeFileSync(join(src, "a"), "hello\n");
    return repo;
  }

  const modes = ["archive", "bare-user", "bare-user-only", ...(isRoot ? ["bare"] : [])];

  for (const mode of modes) {
    it(`arbor fsck passes an ostree-written ${mode} repo, printing what ostree prints`, () => {
      const repo = makeRepo(ostree, mode, `o-clean-${mode}`);
      const o = lines(ostree(["fsck", `--repo=${repo}`]));
      const a = lines(arbor(["fsck", `--repo=${repo}`]));
      expect(a).toEqual(o);
      expect(a.code).toBe(0);
      expect(a.stdout).toContain("object fsck of 3 commits completed successfully - no errors found.");
    });

    it(`ostree fsck passes an arbor ${mode} repo after arbor prune --refs-only --depth=0`, () => {
      const repo = makeRepo(arbor, mode, `a-pruned-${mode}`);
      const out = ok(arbor(["prune", `--repo=${repo}`, "--refs-only", "--depth=0"]), "arbor prune");
      expect(out).toMatch(/^Total objects: \d+\nDeleted \d+ objects, .* freed$/);
      ok(ostree(["fsck", `--repo=${repo}`]), "ostree fsck");
      expect(files(repo, "objects").filter((f) => f.endsWith(".commit"))).toHaveLength(1);
    });

    it(`prune gives the same counts and leaves the same objects as ostree prune (${mode})`, () => {
      const base = makeRepo(ostree, mode, `o-prune-${mode}`);
      for (const flags of [
        [],
        ["--refs-only"],
        ["--refs-only", "--depth=0", "--no-prune"],
        ["--refs-only", "--depth=0"],
      ]) {
        const ro = join(t.dir, `po-${mode}-${flags.join("")}`);
        const ra = join(t.dir, `pa-${mode}-${flags.join("")}`);
        copyRepo(base, ro);
        copyRepo(base, ra);
        const o = ostree(["prune", `--repo=${ro}`, ...flags]);
        const a = arbor(["prune", `--repo=${ra}`, ...flags]);
        expect(lines(a), flags.join(" ")).toEqual(lines(o));
        expect(files(ra, "objects")).toEqual(files(ro, "objects"));
        ok(ostree(["fsck", `--repo=${ra}`]), "ostree fsck after arbor prune");
        ok(arbor(["fsck", `--repo=${ro}`]), "arbor fsck after ostree prune");
      }
    });
  }

  /** Apply the same damage to an ostree repo copy for each tool; compare what they say. */
  function sameVerdict(mode: string, damage: (repo: string) => void, flags: string[] = []): RunResult {
    const base = makeRepo(ostree, mode, `o-damage-${mode}-${Math.random().toString(36).slice(2, 8)}`);
    const ro = `${base}-o`;
    const ra = `${base}-a`;
    copyRepo(base, ro);
    copyRepo(base, ra);
    damage(ro);
    damage(ra);
    const o = ostree(["fsck", `--repo=${ro}`, ...flags]);
    const a = arbor(["fsck", `--repo=${ra}`, ...flags]);
    expect(lines(a)).toEqual(lines(o));
    expect(files(ra, "state")).toEqual(files(ro, "state"));
    expect(files(ra, "objects")).toEqual(files(ro, "objects"));
    return a;
  }

  const contentExt = (mode: string) => (mode === "archive" ? "filez" : "file");

  for (const mode of ["archive", "bare-user"]) {
    it(`finds the same flipped content byte as ostree (${mode})`, () => {
      const a = sameVerdict(mode, (r) => {
        const f = objectFile(r, contentExt(mode), 1);
        const b = readFileSync(f);
        b[b.length - 2] ^= 0xff;
        writeFileSync(f, b);
      });
      expect(a.code).toBe(1);
      // (archive: the flip lands in the deflate stream, "Need more input" — same words as ostree's)
      expect(a.stderr).toMatch(/^error: In commits [0-9a-f, ]+: fsck content object [0-9a-f]{64}: \S/m);
    });

    it(`--all and --delete agree with ostree on corrupt content (${mode})`, () => {
      const damage = (r: string) => truncateSync(objectFile(r, contentExt(mode), 2), 5);
      expect(sameVerdict(mode, damage, ["--all"]).stderr).toContain(
        "error: Repository corruption encountered",
      );
      const d = sameVerdict(mode, damage, ["--delete"]);
      expect(d.stderr).toMatch(/^Marking commit as partial: [0-9a-f]{64}$/m);
    });

    it(`reports a missing object and marks commits partial as ostree does (${mode})`, () => {
      const a = sameVerdict(mode, (r) => unlinkSync(objectFile(r, contentExt(mode), 0)));
      expect(a.stderr).toMatch(/^Object missing in commits .*\.file$/m);
    });

    it(`finds the same flipped dirtree and dirmeta bytes as ostree (${mode})`, () => {
      sameVerdict(
        mode,
        (r) => {
          const f = objectFile(r, "dirtree", 0);
          const b = readFileSync(f);
          b[1] ^= 0x01;
          writeFileSync(f, b);
        },
        ["--all"],
      );
      sameVerdict(mode, (r) => {
        const f = objectFile(r, "dirmeta", 0);
        const b = readFileSync(f);
        b[0] ^= 0x01;
        writeFileSync(f, b);
      });
    });
  }

  it("a corrupt ref'd commit stops both tools with the same message", () => {
    sameVerdict("archive", (r) => {
      const head = readFileSync(join(r, "refs/heads/main"), "utf8").trim();
      writeFileSync(join(r, "objects", head.slice(0, 2), `${head.slice(2)}.commit`), "");
    });
  });

  it("after arbor fsck --delete, ostree pull-local restores the objects and both fsck pass", () => {
    const good = makeRepo(ostree, "archive", "o-restore-good");
    const repo = join(t.dir, "a-restore");
    ok(ostree(["init", `--repo=${repo}`, "--mode=archive"]));
    ok(ostree(["pull-local", `--repo=${repo}`, good, "main"]));
    const f = objectFile(repo, "filez", 0);
    unlinkSync(f); // pull-local hardlinked it to the source repo's object
    writeFileSync(f, "whoops\n");
    const d = arbor(["fsck", `--repo=${repo}`, "--delete"]);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^In commits .*: fsck content object/m);
    const again = arbor(["fsck", `--repo=${repo}`]);
    expect(again.stderr).toMatch(/^error: \d+ partial commits from fsck-detected corruption$/m);
    ok(ostree(["pull-local", `--repo=${repo}`, good, "main"]), "ostree pull-local");
    ok(arbor(["fsck", `--repo=${repo}`]), "arbor fsck after restore");
    ok(ostree(["fsck", `--repo=${repo}`]), "ostree fsck after restore");
  });

  it("--json gives a FsckResult / PruneResult document", () => {
    const repo = makeRepo(arbor, "archive", "a-json");
    const f = JSON.parse(ok(arbor(["fsck", `--repo=${repo}`, "--json"])));
    expect(f).toMatchObject({ apiVersion: "arbor/v1", kind: "FsckResult", ok: true, commits: 3, errors: [] });
    const p = JSON.parse(ok(arbor(["prune", `--repo=${repo}`, "--refs-only", "--no-prune", "--json"])));
    expect(p).toMatchObject({ apiVersion: "arbor/v1", kind: "PruneResult", dryRun: true });
    expect(p.objectsPruned).toBeGreaterThan(0);
  });
});
