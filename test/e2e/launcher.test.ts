// bin/arbor runs dist-cjs/, the CommonJS form of dist/ made by scripts/build-cjs.mjs (start-up
// time). These check what the transform must keep: every module present, paths made relative to
// import.meta.url (package.json, the native addon, worker scripts) still resolving, and a clear
// message when the checkout was not built.
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
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
    // a preload that lists every CommonJS module in the loader's cache at exit (loaded through
    // Node's require or the compile cache's own, compiled from source or from the cache alike)
    const spy = join(t.dir, "list-modules.cjs");
    writeFileSync(
      spy,
      `const M = require("node:module");
       process.on("exit", () => process.stderr.write(Object.keys(M._cache).join("\\n") + "\\n"));`,
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

  it("keeps compiled code of our modules in dist-cjs/.v8-cache and uses it on the next run", () => {
    // one folder per command: rev-parse's entries hold the functions rev-parse ran
    const cache = join(ROOT, "dist-cjs/.v8-cache/rev-parse");
    const entry = () => readdirSync(cache).find((f) => f.startsWith("cli%commands%rev-parse.js."));
    const repo = join(t.dir, "cc-repo");
    ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
    const tree = join(t.dir, "cc-tree");
    mkdirSync(tree);
    writeFileSync(join(tree, "a"), "a\n");
    const commit = ok(
      arbor(["commit", `--repo=${repo}`, "-b", "main", `--tree=dir=${tree}`, "-s", "x"]),
    ).trim();
    expect(ok(arbor(["rev-parse", `--repo=${repo}`, "main"])).trim()).toBe(commit);
    const name = entry();
    expect(name).toBeDefined();
    // data V8 refuses (here: not V8's at all) is compiled past and written again
    writeFileSync(join(cache, name!), "not code");
    expect(ok(arbor(["rev-parse", `--repo=${repo}`, "main"])).trim()).toBe(commit);
    expect(readFileSync(join(cache, name!)).length).toBeGreaterThan(100);
    // and ARBOR_COMPILE_CACHE=0 runs without it
    const r = spawnSync(process.execPath, [ARBOR, "rev-parse", `--repo=${repo}`, "main"], {
      encoding: "utf8",
      env: { ...process.env, ARBOR_COMPILE_CACHE: "0" },
    });
    expect(r.stdout.trim()).toBe(commit);
  });

  it("runs modules without a cache it cannot write, and never runs a changed module's old code", () => {
    // a made-up module tree: its cache dir cannot be made (a file is in the way)
    const root = join(t.dir, "cc-root");
    mkdirSync(root);
    writeFileSync(join(root, "m.js"), "exports.x = 41 + 1;");
    writeFileSync(join(root, ".v8-cache"), "a file, not a directory");
    const cc = join(ROOT, "dist-cjs/cli/compile-cache.js");
    const run = () =>
      spawnSync(
        process.execPath,
        [
          "-e",
          `require(${JSON.stringify(cc)}).installCompileCache(process.argv[1]); console.log(require(process.argv[1] + "/m.js").x)`,
          root,
        ],
        { encoding: "utf8" },
      );
    let r = run();
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("42");
    // with a cache dir: written at exit, then used; a module whose source changed (even to the
    // same length, which is all V8 checks) gets its own entry
    rmSync(join(root, ".v8-cache"));
    expect(run().stdout.trim()).toBe("42");
    // no command in the arguments: the `_` folder
    expect(readdirSync(join(root, ".v8-cache"))).toEqual(["_"]);
    expect(readdirSync(join(root, ".v8-cache/_"))).toHaveLength(1);
    expect(run().stdout.trim()).toBe("42");
    writeFileSync(join(root, "m.js"), "exports.x = 6 * 7 + 100;");
    r = run();
    expect(r.stdout.trim()).toBe("142");
    expect(readdirSync(join(root, ".v8-cache/_"))).toHaveLength(2);
    writeFileSync(join(root, "m.js"), "exports.x = 6 * 7 + 200;");
    utimesSync(join(root, "m.js"), 1_000_000, 1_000_000);
    expect(run().stdout.trim()).toBe("242");
  });

  it("loads our modules' relative requires itself as Node would: one instance, cycles, failures", () => {
    const root = join(t.dir, "req-root");
    mkdirSync(join(root, "sub"), { recursive: true });
    writeFileSync(join(root, "package.json"), '{ "type": "commonjs" }');
    // a cycle: a.js needs sub/b.js while a.js is still loading
    writeFileSync(join(root, "a.js"), 'exports.x = 1;\nexports.b = require("./sub/b.js");\nexports.y = 2;');
    writeFileSync(
      join(root, "sub/b.js"),
      'const a = require("../a.js");\nexports.xThen = a.x;\nexports.yThen = a.y;\nexports.a = () => require("../a.js");',
    );
    // fails on its first load only: dropped from the cache, so the next require runs it again
    writeFileSync(
      join(root, "flaky.js"),
      "globalThis.flakyRuns = (globalThis.flakyRuns ?? 0) + 1;\n" +
        'if (globalThis.flakyRuns === 1) throw new Error("first load fails");\nexports.runs = globalThis.flakyRuns;',
    );
    writeFileSync(
      join(root, "entry.js"),
      `const out = {};
       const a = require("./a.js");
       out.cycle = [a.b.xThen, a.b.yThen, a.y];
       out.sameInstance = a.b.a() === a && require("./sub/../a.js") === a;
       const M = require("node:module");
       const key = require.resolve("./sub/b.js");
       out.cached = [M._cache[key]?.loaded, M._cache[key]?.filename === key, M._cache[key]?.parent?.filename === require.resolve("./a.js")];
       try { require("./flaky.js"); } catch (e) { out.firstError = e.message; }
       out.flaky = [require("./flaky.js").runs, require("./flaky.js").runs];
       try { require("./missing.js"); } catch (e) { out.missing = e.code; }
       try { require("../outside.js"); } catch (e) { out.outside = e.code; }
       out.builtin = require("node:path") === require("path");
       console.log(JSON.stringify(out));`,
    );
    const cc = join(ROOT, "dist-cjs/cli/compile-cache.js");
    const r = spawnSync(
      process.execPath,
      [
        "-e",
        `require(${JSON.stringify(cc)}).installCompileCache(process.argv[1]); require(process.argv[1] + "/entry.js")`,
        root,
      ],
      { encoding: "utf8" },
    );
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toEqual({
      cycle: [1, null, 2], // JSON: y was not yet set when b.js ran
      sameInstance: true,
      cached: [true, true, true],
      firstError: "first load fails",
      flaky: [2, 2],
      missing: "MODULE_NOT_FOUND",
      outside: "MODULE_NOT_FOUND",
      builtin: true,
    });
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
