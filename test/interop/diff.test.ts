/**
 * `arbor diff` against `ostree diff`: the same repositories, the same arguments, the same output.
 * Repositories and commits are made by the real ostree.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arborInProcess } from "../helpers/in-process.js";

let tmp: string;

function ostree(args: string[], cwd = tmp): string {
  return execFileSync("ostree", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Run arbor's CLI in-process; returns stdout (throws with stderr on a non-zero exit). */
async function arbor(args: string[], cwd = tmp): Promise<string> {
  const r = await arborInProcess(args, cwd);
  if (r.code !== 0) throw new Error(`arbor ${args.join(" ")} exited ${r.code}: ${r.err}`);
  return r.out;
}

function write(root: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(join(root, p, ".."), { recursive: true });
    fs.writeFileSync(join(root, p), content);
  }
}

function commit(repo: string, branch: string, dir: string): void {
  ostree(["commit", `--repo=${repo}`, "-b", branch, "--timestamp=2024-01-01 00:00:00", dir]);
}

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-interop-diff-")));
  for (const mode of ["archive", "bare"]) {
    const repo = join(tmp, mode);
    ostree(["init", `--repo=${repo}`, `--mode=${mode}`]);
    const t = join(tmp, `tree-${mode}`);
    write(t, { top: "z\n", "a/f": "x\n", "a/b/g": "y\n", "c/k": "q\n", "c/deep/er/file": "d", typ: "t" });
    fs.symlinkSync("f", join(t, "a/l"));
    execFileSync("setfattr", ["-n", "user.k", "-v", "1", join(t, "a/b/g")]);
    commit(repo, "base", t);
    // One change per commit, each on its own branch.
    const variants: Array<[string, (d: string) => void]> = [
      ["modified", (d) => fs.writeFileSync(join(d, "a/f"), "changed\n")],
      ["chmod", (d) => fs.chmodSync(join(d, "top"), 0o755)],
      ["dirmode", (d) => fs.chmodSync(join(d, "a"), 0o700)],
      [
        "relink",
        (d) => {
          fs.unlinkSync(join(d, "a/l"));
          fs.symlinkSync("elsewhere", join(d, "a/l"));
        },
      ],
      ["adddir", (d) => write(d, { "new/x": "1", "new/sub/deeper/y": "2", "a/b/z": "3", aa: "4" })],
      ["rmdir", (d) => fs.rmSync(join(d, "c"), { recursive: true })],
      ["xattr", (d) => execFileSync("setfattr", ["-n", "user.k", "-v", "2", join(d, "a/b/g")])],
      [
        "retype",
        (d) => {
          fs.rmSync(join(d, "typ"));
          write(d, { "typ/in": "1" });
          fs.rmSync(join(d, "c/k"));
          fs.mkdirSync(join(d, "c/k"));
        },
      ],
    ];
    for (const [name, change] of variants) {
      const d = join(tmp, `v-${mode}-${name}`);
      execFileSync("cp", ["-a", t, d]);
      change(d);
      commit(repo, name, d);
    }
    commit(repo, "hist", t);
    commit(repo, "hist", join(tmp, `v-${mode}-adddir`));
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BRANCHES = ["modified", "chmod", "dirmode", "relink", "adddir", "rmdir", "xattr", "retype"];

describe.each(["archive", "bare"])("diff between commits (%s repo)", (mode) => {
  it.each(BRANCHES)("base → %s and back print what ostree prints", async (b) => {
    const repo = `--repo=${join(tmp, mode)}`;
    for (const args of [
      ["base", b],
      [b, "base"],
      [b, "xattr"],
    ]) {
      const want = ostree(["diff", repo, ...args]);
      expect(await arbor(["diff", repo, ...args]), args.join(" ")).toBe(want);
    }
  });

  it("compares REV^ with REV for a single argument, and prints --stats as ostree", async () => {
    const repo = `--repo=${join(tmp, mode)}`;
    expect(await arbor(["diff", repo, "hist"])).toBe(ostree(["diff", repo, "hist"]));
    for (const args of [
      ["--stats", "base", "adddir"],
      ["--stats", "--fs-diff", "rmdir", "retype"],
    ]) {
      expect(await arbor(["diff", repo, ...args])).toBe(ostree(["diff", repo, ...args]));
    }
  });
});

describe("diff against a directory on disk", () => {
  const repo = () => `--repo=${join(tmp, "archive")}`;
  let co: string;
  beforeAll(() => {
    co = join(tmp, "co");
    ostree(["checkout", repo(), "base", co]);
    fs.writeFileSync(join(co, "top"), "modified\n");
    fs.rmSync(join(co, "c/k"));
    fs.chmodSync(join(co, "a"), 0o700);
    fs.unlinkSync(join(co, "a/l"));
    fs.symlinkSync("other", join(co, "a/l"));
    write(co, { "newd/f": "1", "a/b/more": "2" });
    // Enough entries in one directory to span two of GLib's 1000-entry enumeration chunks.
    for (let i = 0; i < 1500; i++) fs.writeFileSync(join(co, "newd", `n${(i * 7919) % 10007}`), `${i}`);
  });

  it.each([
    ["base", "./co"],
    ["./co", "base"],
    ["adddir", "./co"],
    ["./co", "./v-archive-rmdir"],
  ])("%s vs %s", async (a, b) => {
    expect(await arbor(["diff", repo(), a, b])).toBe(ostree(["diff", repo(), a, b]));
  });

  it("takes absolute paths, --owner-uid/--owner-gid and --no-xattrs as ostree does", async () => {
    for (const extra of [[], ["--owner-uid=5", "--owner-gid=7"], ["--no-xattrs"]]) {
      const args = ["diff", repo(), ...extra, "base", co];
      expect(await arbor(args), extra.join(" ")).toBe(ostree(args));
    }
    const rev = ["diff", repo(), "--owner-uid=5", co, "base"];
    expect(await arbor(rev)).toBe(ostree(rev));
  });

  it("gives the same paths in --json", async () => {
    const doc = JSON.parse(await arbor(["diff", repo(), "--json", "base", "adddir"]));
    expect(doc).toMatchObject({ apiVersion: "arbor/v1", kind: "Diff" });
    const lines = [
      ...doc.modified.map((m: { path: string }) => `M    ${m.path}`),
      ...doc.removed.map((p: string) => `D    ${p}`),
      ...doc.added.map((p: string) => `A    ${p}`),
    ];
    expect(lines.join("\n")).toBe(ostree(["diff", repo(), "base", "adddir"]).trimEnd());
  });
});
