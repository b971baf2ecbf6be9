/**
 * Test helpers: run `bin/arbor` and the real `ostree` as a user would, in temp dirs.
 */
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "../..");
export const ARBOR = join(ROOT, "bin/arbor");
export const hasOstree = spawnSync("ostree", ["--version"]).status === 0;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): RunResult {
  const r: SpawnSyncReturns<string> = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    input: opts.input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Run arbor; returns exit code and output (never throws on non-zero exit). */
export function arbor(args: string[], opts?: Parameters<typeof run>[2]): RunResult {
  return run(ARBOR, args, opts);
}

/** Run the real ostree. */
export function ostree(args: string[], opts?: Parameters<typeof run>[2]): RunResult {
  return run("ostree", args, opts);
}

/** Like arbor()/ostree() but throws with stderr when the exit code is not 0; returns trimmed stdout. */
export function ok(r: RunResult, what = "command"): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

/** A temp dir removed by the returned cleanup function. */
export function tempDir(prefix = "arbor-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
