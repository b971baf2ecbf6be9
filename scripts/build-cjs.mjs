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
//   - dist-cjs/package.json says "commonjs" (the package itself is "module").
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
writeFileSync(join(out, "package.json"), '{ "type": "commonjs" }\n');
console.log(`build-cjs: ${files.length} modules -> ${relative(root, out)}/`);
