/**
 * Long operations show a live progress line on a terminal (issue: "commit, checkout, fsck,
 * pull-local show progress on a TTY") and nothing but their result otherwise. The terminal is a
 * real pseudo-terminal from util-linux `script`.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARBOR, arbor, ok, tempDir } from "../helpers/cli.js";

const hasScript = spawnSync("script", ["--version"]).status === 0;
const quote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** Run arbor with stdin/stdout/stderr on a pseudo-terminal; returns everything it wrote. */
function onTty(args: string[]): string {
  const r = spawnSync("script", ["-q", "-e", "-c", [ARBOR, ...args].map(quote).join(" "), "/dev/null"], {
    encoding: "utf8",
  });
  expect(r.status, r.stdout + r.stderr).toBe(0);
  return r.stdout;
}

let t: ReturnType<typeof tempDir>;
let tree: string;
let repo: string;
beforeAll(() => {
  t = tempDir("arbor-progress-");
  tree = join(t.dir, "tree");
  mkdirSync(join(tree, "d"), { recursive: true });
  for (let i = 0; i < 50; i++) writeFileSync(join(tree, "d", `f${i}`), `${i}\n`);
  repo = join(t.dir, "repo");
  ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
});
afterAll(() => t.cleanup());

describe.skipIf(!hasScript)("progress on a terminal", () => {
  it("commit, checkout, fsck and pull-local draw a live line, erased before the result", () => {
    const cases: Array<[string[], RegExp]> = [
      [["commit", `--repo=${repo}`, "-b", "main", tree], /\rCommitting: \d+ files/],
      [["checkout", `--repo=${repo}`, "main", join(t.dir, "co")], /\rChecking out: \d+ files/],
      [["fsck", `--repo=${repo}`], /\rfsck objects \(\d+\/\d+\)/],
    ];
    const dst = join(t.dir, "dst");
    for (const [args, live] of cases) {
      const text = onTty(args);
      expect(text, args[0]).toMatch(live);
      expect(text, args[0]).toContain("\r\x1b[K"); // the live line is erased at the end
    }
    ok(arbor(["init", `--repo=${dst}`, "--mode=archive"]));
    const pulled = onTty(["pull-local", `--repo=${dst}`, repo, "main"]);
    expect(pulled).toMatch(/\rReceiving objects: \d+% \(\d+\/\d+\)/);
    expect(pulled).toMatch(/content objects imported/);
  });

  it("pull over HTTP draws its receiving line", () => {
    // served by arbor's own trivial-httpd, which exits when the served folder goes (afterAll)
    const served = join(t.dir, "served");
    ok(arbor(["init", `--repo=${served}`, "--mode=archive"]));
    ok(arbor(["pull-local", `--repo=${served}`, repo, "main"]));
    ok(arbor(["summary", "-u", `--repo=${served}`]));
    ok(arbor(["trivial-httpd", "--autoexit", "--daemonize", "-p", join(t.dir, "port"), served]));
    const port = readFileSync(join(t.dir, "port"), "utf8").trim();
    const client = join(t.dir, "client");
    ok(arbor(["init", `--repo=${client}`, "--mode=bare-user"]));
    ok(arbor(["remote", "add", `--repo=${client}`, "--no-gpg-verify", "o", `http://127.0.0.1:${port}`]));
    const text = onTty(["pull", `--repo=${client}`, "o", "main"]);
    expect(text).toMatch(/\rReceiving (metadata )?objects: /);
    expect(text).toMatch(/content objects fetched; \d+ KiB transferred/);
  });

  it("prints no progress when stderr is not a terminal", () => {
    const r = arbor(["fsck", `--repo=${repo}`]);
    expect(r.code).toBe(0);
    expect(r.stderr + r.stdout).not.toContain("\x1b[K");
    expect(r.stderr + r.stdout).not.toContain("fsck objects (");
  });
});
