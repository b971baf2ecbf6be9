/**
 * xz compression for static delta parts (fact sheet §6.3: compression byte `x` = an LZMA2 `.xz`
 * container), by piping through the `xz` tool, as `commit --tree=tar=` does for xz archives.
 * Output is bounded: a part never decompresses to more than its declared size.
 */
import { spawn } from "node:child_process";
import { ArborError } from "../errors.js";

function run(args: string[], input: Uint8Array, limit: number, what: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const child = spawn("xz", args, { stdio: ["pipe", "pipe", "pipe"] });
    const chunks: Buffer[] = [];
    let size = 0;
    let err = "";
    let failed: ArborError | null = null;
    child.on("error", (e) =>
      reject(new ArborError("UNSUPPORTED", `Cannot ${what}: cannot run xz: ${e.message}`, { cause: e })),
    );
    child.stdout.on("data", (b: Buffer) => {
      size += b.length;
      if (size > limit) {
        failed ??= new ArborError("OBJECT_CORRUPT", `Cannot ${what}: output exceeds ${limit} bytes`);
        child.kill("SIGKILL");
        return;
      }
      chunks.push(b);
    });
    child.stderr.on("data", (b: Buffer) => {
      if (err.length < 4096) err += b.toString();
    });
    child.stdin.on("error", () => {
      // xz exited early (bad input or killed): reported through the exit status
    });
    child.on("close", (code) => {
      if (failed) return reject(failed);
      if (code !== 0)
        return reject(
          new ArborError("OBJECT_CORRUPT", `Cannot ${what}: ${err.trim() || `xz exited ${code}`}`),
        );
      resolve(Buffer.concat(chunks));
    });
    child.stdin.end(input);
  });
}

/**
 * Decompress an `.xz` stream; more than `limit` bytes of output is an error.
 * @throws ArborError OBJECT_CORRUPT (bad data, too large), UNSUPPORTED (no xz tool)
 */
export function xzDecompress(data: Uint8Array, limit: number): Promise<Uint8Array> {
  return run(["-dc", "--format=xz", "--single-stream"], data, limit, "decompress static delta part");
}

/** Compress to an `.xz` stream (CRC64 check, preset 6 like GLib's default). @throws ArborError */
export function xzCompress(data: Uint8Array): Promise<Uint8Array> {
  return run(
    ["-zc", "--format=xz", "-6", "-T1"],
    data,
    Number.MAX_SAFE_INTEGER,
    "compress static delta part",
  );
}
