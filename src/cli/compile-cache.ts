/**
 * A V8 code cache for the CLI's own modules (dist-cjs/), which bin/arbor installs before loading
 * anything else. Node 20 compiles every CommonJS module from source at every start (a compile
 * cache, `module.enableCompileCache`, came in Node 22), and V8 compiles each function again the
 * first time it runs: `arbor pull` loads ~70 modules (430 KB), which cost ~25 ms of a 0.45 s
 * update pull. Here each of our modules is compiled with the code V8 produced for it in an
 * earlier run, including the functions that run compiled then.
 *
 * The cache lives in `dist-cjs/.v8-cache/` (a build replaces dist-cjs/ whole, cache included),
 * one file per module, named by its path, length and mtime and the Node version and
 * architecture; V8 itself refuses data made by another V8 or with other flags (then the module
 * compiles from source and its entry is written again). A module compiled from source is written at exit
 * (temporary file, then rename: concurrent runs are fine). Nothing here may stop the CLI: a
 * cache that cannot be read or written is no cache. `ARBOR_COMPILE_CACHE=0` turns it off.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import Module from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { Script } from "node:vm";

/** The parts of Node's CommonJS loader this uses (stable for years, not in the typings). */
interface CjsModule {
  exports: unknown;
  require(id: string): unknown;
}
interface CjsLoader {
  wrap(source: string): string;
  _resolveFilename(request: string, parent: CjsModule, isMain: boolean, options?: unknown): string;
  _cache: unknown;
  _extensions: unknown;
  prototype: { _compile(this: CjsModule, content: string, filename: string): unknown };
}

/**
 * Compile the modules below `root` (dist-cjs/) with cached code from `root/.v8-cache`.
 * @returns false when it did not install (turned off, or a loader without `_compile`).
 */
export function installCompileCache(root: string): boolean {
  if (process.env.ARBOR_COMPILE_CACHE === "0") return false;
  const loader = Module as unknown as CjsLoader;
  const original = loader.prototype?._compile;
  if (typeof original !== "function" || typeof loader.wrap !== "function") return false;
  const cacheDir = join(root, ".v8-cache");
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
    // what the loader's own require() offers our modules (they use require and require.resolve)
    const req = Object.assign((id: string) => this.require(id), {
      resolve: (request: string, options?: unknown) => loader._resolveFilename(request, this, false, options),
      cache: loader._cache,
      extensions: loader._extensions,
    });
    return fn.call(this.exports, this.exports, req, this, filename, dirname(filename));
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
