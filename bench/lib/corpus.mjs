// The input trees: the synthetic one (made here) and the Debian corpora (made
// by the shared make-corpus.sh, which needs root and the Debian mirror). All
// live under ARBOR_CORPUS_DIR (default /var/tmp/arbor-corpus) and are reused
// when complete (marker file .corpus-complete).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { ensureGeneratedTree, GENERATED_VERSION } from "./tree.mjs";

export const CORPUS_DIR = process.env.ARBOR_CORPUS_DIR || "/var/tmp/arbor-corpus";

function makeCorpusScript(repoRoot) {
  const cands = [
    process.env.ARBOR_MAKE_CORPUS,
    resolve(repoRoot, "../shared/tools/make-corpus.sh"),
    "/work/shared/tools/make-corpus.sh",
  ].filter(Boolean);
  const found = cands.find((c) => existsSync(c));
  if (!found) throw new Error(`make-corpus.sh not found (tried ${cands.join(", ")}; set ARBOR_MAKE_CORPUS)`);
  return found;
}

/** Returns the directory of tree `kind` (generated | minbase | full), building it if absent. */
export function ensureTree(kind, repoRoot) {
  if (kind === "generated") return ensureGeneratedTree(join(CORPUS_DIR, `generated-v${GENERATED_VERSION}`));
  if (kind !== "minbase" && kind !== "full") throw new Error(`unknown corpus "${kind}"`);
  const dest = join(CORPUS_DIR, kind);
  if (existsSync(join(dest, ".corpus-complete"))) return dest;
  const script = makeCorpusScript(repoRoot);
  console.error(
    `bench: building the ${kind} corpus at ${dest} with ${script} (needs the Debian mirror; minutes) …`,
  );
  const r = spawnSync("bash", [script, dest, kind], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0 || !existsSync(join(dest, ".corpus-complete"))) {
    throw new Error(`building the ${kind} corpus failed (exit ${r.status}); see ${dest}.log`);
  }
  return dest;
}
