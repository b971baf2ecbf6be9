/**
 * A V8 code cache for the CLI's own modules (dist-cjs/), which bin/arbor installs before loading
 * anything else. Node 20 compiles every CommonJS module from source at every start (a compile
 * cache, `module.enableCompileCache`, came in Node 22), and V8 compiles each function again the
 * first time it runs: `arbor pull` loads ~70 modules (430 KB), which cost ~25 ms of a 0.45 s
 * update pull. Here each of our modules is compiled with the code V8 produced for it in an
 * earlier run, including the functions that run compiled then.
 *
 * The cache lives in `dist-cjs/.v8-cache/COMMAND/` (a build replaces dist-cjs/ whole, cache
 * included), one file per module, named by its path, length and mtime and the Node version and
 * architecture. One folder per command (`pull`, `admin.deploy`, …: {@link commandKey}) because an
 * entry holds the functions that ran in the run that wrote it: shared modules (the GVariant
 * decoder, the HTTP client) written by one command held few of another's functions, which then
 * compiled from source at every run (measured: an update pull's start, up to its first request,
 * 96 -> 72 ms with the pull's own entries). V8 itself refuses data made by another V8 or with
 * other flags (then the module compiles from source and its entry is written again). A module
 * compiled from source is written at exit (temporary file, then rename: concurrent runs are
 * fine). Nothing here may stop the CLI: a
 * cache that cannot be read or written is no cache. `ARBOR_COMPILE_CACHE=0` turns it off.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { Script } from "node:vm";

/** The parts of Node's CommonJS loader this uses (stable for years, not in the typings). */
interface CjsModule {
  exports: unknown;
  require(id: string): unknown;
}
interface CjsLoader {
  new (id: string, parent: CjsModule): CjsModule & { filename: string; paths: string[]; loaded: boolean };
  wrap(source: string): string;
  _nodeModulePaths(dir: string): string[];
  _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: unknown): string;
  _cache: Record<string, CjsModule | undefined>;
  _extensions: unknown;
  prototype: { _compile(this: CjsModule, content: string, filename: string): unknown };
}

/** A word that may name a command (and so a folder of the cache). */
const WORD = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * The cache folder of the command `argv` runs: its words as the CLI's modules are laid out
 * (`cli/commands/pull.js` → `pull`, `cli/commands/admin/layer/add.js` → `admin.layer.add`), a
 * group without a known subcommand by its own name (`admin`), anything else (`--help`, a
 * mistyped command) `_`. Never a path outside `root`: only lowercase words that name a module.
 */
export function commandKey(root: string, argv: readonly string[]): string {
  const parts: string[] = [];
  let dir = join(root, "cli", "commands");
  for (const w of argv.slice(0, 3)) {
    if (!WORD.test(w)) break;
    try {
      // a group first (`admin drift capture`: admin/drift/capture.js beside admin/drift.js)
      if (statSync(join(dir, w), { throwIfNoEntry: false })?.isDirectory()) {
        parts.push(w);
        dir = join(dir, w);
        continue;
      }
      if (statSync(join(dir, `${w}.js`), { throwIfNoEntry: false })?.isFile()) parts.push(w);
    } catch {
      // unreadable: the words so far
    }
    break;
  }
  return parts.length ? parts.join(".") : "_";
}

/**
 * Compile the modules below `root` (dist-cjs/) with cached code from `root/.v8-cache/KEY`, KEY
 * the {@link commandKey} of `argv` (the CLI's arguments).
 * @returns false when it did not install (turned off, or a loader without `_compile`).
 */
export function installCompileCache(root: string, argv: readonly string[] = process.argv.slice(2)): boolean {
  if (process.env.ARBOR_COMPILE_CACHE === "0") return false;
  const loader = Module as unknown as CjsLoader;
  const original = loader.prototype?._compile;
  if (typeof original !== "function" || typeof loader.wrap !== "function") return false;
  const cacheDir = join(root, ".v8-cache", commandKey(root, argv));
  const prefix = root.endsWith(sep) ? root : root + sep;
  const tag = `${process.version}-${process.arch}`;
  const toWrite: Array<{ script: Script; path: string }> = [];

  loader.prototype._compile = function compileCached(this: CjsModule, content: string, filename: string) {
    if (!filename.startsWith(prefix)) return original.call(this, content, filename);
    // V8 checks its version, its flags and the source's length, not the source itself: the
    // file's mtime in the name keeps an edited module (same length or not) off its old code
    const name = relative(root, filename).split(sep).join("%");
    let path = "";
    let cachedData: Buffer | undefined;
    try {
      path = join(cacheDir, `${name}.${content.length}.${statSync(filename).mtimeMs}.${tag}`);
      cachedData = readFileSync(path);
    } catch {
      // not cached yet
    }
    const script = new Script(loader.wrap(content), { filename, cachedData });
    if (path && (cachedData === undefined || script.cachedDataRejected)) toWrite.push({ script, path });
    const fn = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => unknown;
    const here = dirname(filename);
    // what the loader's own require() offers our modules (they use require and require.resolve),
    // with one shortcut: a relative `.js` request that lands in `root` (one of our modules asking
    // for another: the only kind build-cjs makes lazy) is loaded here without Node's resolution.
    // Node would stat the file, realpath it and look up its package scope at every first load
    // (~0.1-0.5 ms a module on the reference VM, ~70 modules a pull); under `root` there are no
    // symlinks and the scope is dist-cjs/package.json ("commonjs"), so the path is the answer.
    // The module is made, cached, compiled and marked loaded as Node's loader does it (a module
    // that throws while loading is dropped from the cache, so the next require tries again).
    const req = Object.assign(
      (id: string) => {
        if ((id.startsWith("./") || id.startsWith("../")) && id.endsWith(".js")) {
          const target = resolve(here, id);
          if (target.startsWith(prefix)) return loadOurs(loader, this, target, () => this.require(id));
        }
        return this.require(id);
      },
      {
        resolve: (request: string, options?: unknown) =>
          loader._resolveFilename(request, this, false, options),
        cache: loader._cache,
        extensions: loader._extensions,
      },
    );
    return fn.call(this.exports, this.exports, req, this, filename, here);
  };

  process.once("exit", () => {
    if (toWrite.length === 0) return;
    try {
      mkdirSync(cacheDir, { recursive: true });
    } catch {
      return; // a read-only install: no cache
    }
    for (const { script, path } of toWrite) {
      const tmp = `${path}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, path);
      } catch {
        // a full disk: no entry, and no partial one left behind (an exit handler must not throw)
        try {
          rmSync(tmp, { force: true });
        } catch {}
        return;
      }
    }
  });
  return true;
}

/**
 * Load our module at `target` (an absolute path under dist-cjs/) for `parent`, or return it when
 * it is loaded or loading (a cycle gets the exports so far, as with Node). A file that cannot be
 * read goes to `fallback` (Node's own require, which reports it as Node does).
 */
function loadOurs(loader: CjsLoader, parent: CjsModule, target: string, fallback: () => unknown): unknown {
  const cached = loader._cache[target];
  if (cached !== undefined) return cached.exports;
  let source: string;
  try {
    source = readFileSync(target, "utf8");
  } catch {
    return fallback();
  }
  const child = new loader(target, parent);
  child.filename = target;
  child.paths = loader._nodeModulePaths(dirname(target));
  loader._cache[target] = child;
  let loaded = false;
  try {
    loader.prototype._compile.call(child, source, target);
    loaded = true;
  } finally {
    if (!loaded) delete loader._cache[target];
  }
  child.loaded = true;
  return child.exports;
}
