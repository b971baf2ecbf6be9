// bin/arbor runs dist-cjs/, the CommonJS form of dist/ made by scripts/build-cjs.mjs (start-up
// time). These check what the transform must keep: every module present, paths made relative to
// import.meta.url (package.json, the native addon, worker scripts) still resolving, and a clear
// message when the checkout was not built.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ARBOR, arbor, ok, ROOT, tempDir } from "../helpers/cli.js";

const t = tempDir("arbor-launcher-");
afterAll(() => t.cleanup());

function jsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".js"))
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

describe("bin/arbor launcher", () => {
  it("has a CommonJS module for every module tsc built, in a commonjs scope", () => {
    const esm = jsUnder(join(ROOT, "dist"));
    expect(esm.length).toBeGreaterThan(100);
    expect(jsUnder(join(ROOT, "dist-cjs"))).toEqual(esm);
    expect(JSON.parse(readFileSync(join(ROOT, "dist-cjs/package.json"), "utf8")).type).toBe("commonjs");
    // no module is left as ESM, and no lazy import() went through the (slow) ESM loader
    const main = readFileSync(join(ROOT, "dist-cjs/cli/main.js"), "utf8");
    expect(main).not.toMatch(/\bimport\(/);
    expect(main).toContain("require(");
  });

  it("--version reads package.json through the module's own URL", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect(ok(arbor(["--version"]))).toContain(pkg.version);
  });

  it("loads the native addon and the object workers (paths relative to import.meta.url)", () => {
    const repo = join(t.dir, "repo");
    const tree = join(t.dir, "tree");
    ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
    mkdirSync(tree);
    // enough files for the commit to hand compression to its worker threads
    for (let i = 0; i < 300; i++) writeFileSync(join(tree, `f${i}`), `file ${i}\n`.repeat(200));
    ok(arbor(["commit", `--repo=${repo}`, "-b", "main", `--tree=dir=${tree}`, "-s", "x"]));
    // fsck takes the repository lock: the addon's OFD lock
    expect(ok(arbor(["fsck", `--repo=${repo}`]))).toMatch(/no errors/);
    // workers fall back to in-process work silently, so start one from dist-cjs directly
    const workers = join(ROOT, "dist-cjs/repo/object-workers.js");
    const script = `const w = require(${JSON.stringify(workers)});
      w.startWorkers("fsck-worker", 1, { repoPath: process.argv[1] })
        .then(async (ws) => { console.log(ws.length); await w.stopWorkers(ws); });`;
    const r = spawnSync(process.execPath, ["-e", script, repo], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("1");
  });

  it("loads a module of ours only when the command first uses it (rev-parse reads no GVariant)", () => {
    const repo = join(t.dir, "small");
    const tree = join(t.dir, "small-tree");
    ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
    mkdirSync(tree);
    writeFileSync(join(tree, "a"), "a\n");
    const commit = ok(
      arbor(["commit", `--repo=${repo}`, "-b", "main", `--tree=dir=${tree}`, "-s", "x"]),
    ).trim();
    // a preload that lists every CommonJS module compiled in the process
    const spy = join(t.dir, "list-modules.cjs");
    writeFileSync(
      spy,
      `const M = require("node:module"); const compile = M.prototype._compile; const seen = [];
       M.prototype._compile = function (code, file) { seen.push(file); return compile.call(this, code, file); };
       process.on("exit", () => process.stderr.write(seen.join("\\n") + "\\n"));`,
    );
    const loaded = (args: string[]) => {
      const r = spawnSync(process.execPath, ["-r", spy, ARBOR, ...args], { encoding: "utf8" });
      expect(r.status).toBe(0);
      return {
        stdout: r.stdout,
        modules: r.stderr
          .split("\n")
          .filter((f) => f.includes("dist-cjs"))
          .map((f) => relative(join(ROOT, "dist-cjs"), f)),
      };
    };
    const revParse = loaded(["rev-parse", `--repo=${repo}`, "main"]);
    expect(revParse.stdout.trim()).toBe(commit);
    expect(revParse.modules).toContain("repo/refs.js");
    expect(revParse.modules.filter((m) => m.startsWith("gvariant/") || m === "core/metadata.js")).toEqual([]);
    expect(revParse.modules.length).toBeLessThan(20);
    // a command that reads the commit loads the decoders when it gets there
    const show = loaded(["show", `--repo=${repo}`, "main"]);
    expect(show.stdout).toContain(commit);
    expect(show.modules).toContain("core/metadata.js");
  });

  it("says to build when dist-cjs is missing", () => {
    const bin = join(t.dir, "unbuilt/bin");
    mkdirSync(bin, { recursive: true });
    copyFileSync(ARBOR, join(bin, "arbor"));
    copyFileSync(join(ROOT, "bin/package.json"), join(bin, "package.json"));
    const r = spawnSync(process.execPath, [join(bin, "arbor"), "--version"], { encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("npm run build");
  });
});
