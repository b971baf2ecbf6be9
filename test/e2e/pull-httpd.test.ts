/**
 * `arbor trivial-httpd` serves a repository the way `ostree trivial-httpd` does: daemonized with a
 * port file, pulled from by both ostree and arbor, range requests and 404s, and gone once its
 * directory is deleted (`--autoexit`).
 */

import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, ok, ostree, tempDir } from "../helpers/cli.js";

let t: ReturnType<typeof tempDir>;
let served: string;
let port: number;
let commit: string;

function listening(p: number): Promise<boolean> {
  return new Promise((res) => {
    const c = connect(p, "127.0.0.1");
    c.once("connect", () => {
      c.destroy();
      res(true);
    });
    c.once("error", () => res(false));
  });
}

beforeAll(() => {
  t = tempDir("arbor-httpd-");
  const src = join(t.dir, "src");
  const tree = join(t.dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "hello"), "hello world\n");
  ok(arbor(["init", `--repo=${src}`, "--mode=archive"]));
  commit = ok(arbor(["commit", `--repo=${src}`, "-b", "main", "-s", "x", tree]));
  ok(arbor(["summary", "-u", `--repo=${src}`]));
  served = join(t.dir, "served");
  cpSync(src, served, { recursive: true });
  ok(arbor(["trivial-httpd", "--autoexit", "--daemonize", "-p", join(t.dir, "port"), served]));
  port = Number(readFileSync(join(t.dir, "port"), "utf8").trim());
}, 120_000);

afterAll(() => {
  rmSync(served, { recursive: true, force: true });
  t?.cleanup();
});

describe("arbor trivial-httpd", () => {
  it("daemonizes, writes the port, and serves a repo that ostree and arbor pull", () => {
    expect(port).toBeGreaterThan(0);
    for (const [tool, name] of [
      ["ostree", "o"],
      ["arbor", "a"],
    ] as const) {
      const run = tool === "ostree" ? ostree : arbor;
      const repo = join(t.dir, name);
      ok(run(["init", `--repo=${repo}`, "--mode=bare-user"]));
      ok(run(["remote", "add", `--repo=${repo}`, "--no-gpg-verify", "origin", `http://127.0.0.1:${port}`]));
      ok(run(["pull", `--repo=${repo}`, "origin", "main"]), `${tool} pull`);
      expect(ok(run(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(commit);
      ok(ostree(["fsck", `--repo=${repo}`]));
    }
  });

  it("answers ranges, 404s, and refuses paths outside its root", async () => {
    const base = `http://127.0.0.1:${port}`;
    const r = await fetch(`${base}/config`, { headers: { range: "bytes=0-5" } });
    expect(r.status).toBe(206);
    expect(await r.text()).toBe("[core]");
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
    const etag = (await fetch(`${base}/summary`)).headers.get("etag")!;
    expect((await fetch(`${base}/summary`, { headers: { "if-none-match": etag } })).status).toBe(304);
  });

  it("--autoexit: stops when its directory is removed", async () => {
    rmSync(served, { recursive: true, force: true });
    const end = Date.now() + 5000;
    while ((await listening(port)) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    expect(await listening(port)).toBe(false);
  });
});
