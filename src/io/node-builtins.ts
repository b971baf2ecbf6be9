/**
 * Node built-ins for modules on the CLI's start-up path.
 *
 * Start-up time is a headline figure (`arbor rev-parse` must be close to a bare `node -e 0`):
 * an ESM `import … from "node:fs"` builds a namespace of every export, which evaluates the lazy
 * `fs.promises` getter and loads the whole streams stack; `require("node:fs")` does not. And
 * `node:crypto` costs tens of milliseconds, so it is loaded on first use only.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** `node:fs`, loaded without its promises API. */
export const fs: typeof import("node:fs") = require("node:fs");

let cryptoModule: typeof import("node:crypto") | undefined;

/** `node:crypto`, loaded on first use. */
export function crypto(): typeof import("node:crypto") {
  cryptoModule ??= require("node:crypto") as typeof import("node:crypto");
  return cryptoModule;
}
