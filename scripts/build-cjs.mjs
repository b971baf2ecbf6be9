// Builds dist-cjs/: the CommonJS form of dist/ (tsc's ESM output), module for module, that
// bin/arbor runs. Why: a CLI started thousands of times by scripts pays Node 20's ESM loader at
// every start, about 1 ms per module on the reference machine (30 trivial ESM modules: +32 ms over
// `node -e 0`; the same 30 as CommonJS: +5 ms), and `arbor rev-parse` loads ~35 modules.
// The library (package.json "main", dist/) stays ESM; this is a mechanical transform of the same
// code (esbuild, no bundling), so every module exists once per process, as in dist/.
//
//   - `import()` becomes a lazy `require()`: commands still load only what they need;
//   - `import.meta.url` becomes the URL of the CommonJS file, which sits at the same depth under
//     dist-cjs/ as its original under dist/, so paths made relative to it (package.json, the
//     native addon, worker scripts) resolve the same;
//   - dist-cjs/package.json says "commonjs" (the package itself is "module");
//   - a static import of one of our own modules is loaded on first use, not at start (see
//     lazyRequires below): `arbor rev-parse` no longer loads the metadata decoders and GVariant
//     because repo.ts imports them for the commands that read commits.
//
//   node scripts/build-cjs.mjs        (part of `npm run build`, after tsc)
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "dist");
const out = join(root, "dist-cjs");

/** Every .js file under `dir`, recursively. */
function jsFiles(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".js"))
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

const files = jsFiles(src);
if (files.length === 0) {
  console.error("build-cjs: dist/ has no .js files: run tsc first (npm run build)");
  process.exit(1);
}
// Only files that use import.meta get the (small) cost of computing their own URL.
const usesMeta = files.filter((f) => readFileSync(f, "utf8").includes("import.meta"));
const plain = files.filter((f) => !usesMeta.includes(f));

rmSync(out, { recursive: true, force: true });
const common = {
  outdir: out,
  outbase: src,
  format: "cjs",
  platform: "node",
  target: "node20",
  logLevel: "warning",
  supported: { "dynamic-import": false },
};
await build({ ...common, entryPoints: plain });
await build({
  ...common,
  entryPoints: usesMeta,
  define: { "import.meta.url": "__arborModuleUrl" },
  banner: { js: 'const __arborModuleUrl = require("node:url").pathToFileURL(__filename).href;' },
});

/**
 * esbuild writes each static import of a module as `var import_NAME = require("./path.js");` at
 * the top and every use as `import_NAME.export`. For our own modules (relative paths) the
 * declaration becomes a memoizing function and each use a call of it, so a module is evaluated
 * the first time one of its exports is touched. What a module needs while it is being loaded
 * (a base class, a table built at load) is still loaded then, in the same order; only imports
 * that sit behind a function call wait until that call. `export … from` works the same (esbuild
 * turns it into getters reading `import_NAME.x`). Node and npm packages stay eager.
 */
function lazyRequires(code, file) {
  const decl = /^var (import_[\w$]+) = require\("(\.{1,2}\/[^"]+)"\);$/gm;
  const names = [];
  let lazy = code.replace(decl, (_all, name, spec) => {
    names.push(name);
    return `var ${name}$m;\nfunction ${name}() {\n  return ${name}$m ??= require(${JSON.stringify(spec)});\n}`;
  });
  for (const name of names) {
    const use = new RegExp(`(?<![\\w$.])${name.replace(/\$/g, "\\$")}(?![\\w$(])`, "g");
    let n = 0;
    lazy = lazy.replace(use, () => {
      n++;
      return `(${name}())`; // parenthesized: `new import_x.C()` must stay `new (import_x()).C()`
    });
    if (n === 0) {
      console.error(`build-cjs: ${relative(root, file)}: ${name} is never used, yet kept`);
    }
  }
  return lazy;
}

for (const file of jsFiles(out)) {
  const code = readFileSync(file, "utf8");
  const lazy = lazyRequires(code, file);
  if (lazy !== code) writeFileSync(file, lazy);
}
writeFileSync(join(out, "package.json"), '{ "type": "commonjs" }\n');
console.log(`build-cjs: ${files.length} modules -> ${relative(root, out)}/`);
