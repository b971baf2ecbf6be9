/** Shared fixtures for the io/ tests: temp dirs, capability probes, child processes. */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { errnoCode } from "../../../src/errors.js";
import { native } from "../../../src/io/native.js";

/** Absolute path of a source module, for child processes that import it through tsx. */
export function srcModule(rel: string): string {
  return resolve(fileURLToPath(new URL("../../../src/", import.meta.url)), rel);
}

/** A fresh temp directory, removed (after clearing any immutable flags) by the returned cleanup. */
export function makeTmpDir(prefix = "arbor-io-"): { dir: string; cleanup: () => void } {
  const dir = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), prefix)));
  return {
    dir,
    cleanup: () => {
      clearFlagsBestEffort(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function clearFlagsBestEffort(dir: string): void {
  const stack = [dir];
  while (stack.length > 0) {
    const p = stack.pop()!;
    try {
      const st = fs.lstatSync(p);
      if (!st.isDirectory() && !st.isFile()) continue;
      const f = native().getInodeFlags(p);
      if (f & 0x30) native().setInodeFlags(p, f & ~0x30);
      if (st.isDirectory()) for (const n of fs.readdirSync(p)) stack.push(join(p, n));
    } catch {}
  }
}

/** Whether `dir`'s filesystem accepts `user.*` xattrs; if not, why. */
export function probeUserXattrs(dir: string): { ok: boolean; reason: string } {
  const f = join(dir, ".xattr-probe");
  fs.writeFileSync(f, "");
  try {
    native().lsetxattr(f, "user.arbor.probe", new Uint8Array([1]));
    return { ok: true, reason: "" };
  } catch (e) {
    return { ok: false, reason: `user xattrs unsupported on ${dir} (${errnoCode(e)})` };
  } finally {
    fs.rmSync(f, { force: true });
  }
}

/** Whether we may set FS_IMMUTABLE_FL in `dir` (root with CAP_LINUX_IMMUTABLE on ext4/xfs/btrfs…). */
export function probeImmutable(dir: string): { ok: boolean; reason: string } {
  if (process.getuid?.() !== 0) return { ok: false, reason: "setting the immutable flag needs root" };
  const f = join(dir, ".immutable-probe");
  fs.writeFileSync(f, "");
  try {
    const flags = native().getInodeFlags(f);
    native().setInodeFlags(f, flags | native().FS_IMMUTABLE_FL);
    native().setInodeFlags(f, flags);
    return { ok: true, reason: "" };
  } catch (e) {
    return { ok: false, reason: `cannot set the immutable flag in ${dir} (${errnoCode(e)})` };
  } finally {
    fs.rmSync(f, { force: true });
  }
}

/** Result of a finished child process. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Resolve when `child` exits, with everything it printed. */
export function collect(child: ChildProcess): Promise<ChildResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  return new Promise((res, rej) => {
    child.on("error", rej);
    child.on("close", (code, signal) => res({ code, signal, stdout, stderr }));
  });
}

/** Run an ESM snippet in a child `node --import tsx`, with extra args and env. */
export function spawnTs(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, ...args], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
}

/** Resolve with the child's stdout so far as soon as it contains `marker`; reject if it exits first. */
export function waitForOutput(child: ChildProcess, marker: string, timeoutMs = 20_000): Promise<string> {
  return new Promise((res, rej) => {
    let out = "";
    let err = "";
    const timer = setTimeout(
      () => rej(new Error(`timed out waiting for "${marker}"; stderr: ${err}`)),
      timeoutMs,
    );
    child.stdout?.setEncoding("utf8").on("data", (d: string) => {
      out += d;
      if (out.includes(marker)) {
        clearTimeout(timer);
        res(out);
      }
    });
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      err += d;
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      rej(new Error(`child exited (${code ?? signal}) before "${marker}": ${out}${err}`));
    });
  });
}
