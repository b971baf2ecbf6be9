/** Shared fixtures for the cli/ tests: capturing sinks, a run() wrapper, temp dirs. */
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunOptions, run } from "../../../src/cli/main.js";
import type { Sink } from "../../../src/cli/output.js";

/** A sink that remembers what was written, and how many write calls it took. */
export function captureSink(): Sink & { text(): string; calls: number } {
  const chunks: string[] = [];
  return {
    calls: 0,
    write(chunk) {
      this.calls++;
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    },
    text: () => chunks.join(""),
  };
}

/** What one CLI invocation produced. */
export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Run the CLI in-process with captured output, program name "ostree", an empty env. */
export async function cli(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  const out = captureSink();
  const err = captureSink();
  const code = await run(argv, { prog: "ostree", env: {}, stdout: out, stderr: err, ...options });
  return { code, out: out.text(), err: err.text() };
}

/** A fresh temp directory and its cleanup. */
export function makeTmpDir(prefix = "arbor-cli-"): { dir: string; cleanup: () => void } {
  const dir = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), prefix)));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Make `dir` look like a repository to the resolver (objects/ and config). */
export function fakeRepo(dir: string): string {
  fs.mkdirSync(join(dir, "objects"), { recursive: true });
  fs.writeFileSync(join(dir, "config"), "[core]\nrepo_version=1\nmode=bare\n");
  return dir;
}
