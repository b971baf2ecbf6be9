/**
 * Reading a file whose size is already known (from the lstat that chose to read it), as commit
 * and compose do: whole into memory when small, in chunks when streamed. A file that shrinks
 * under the reader is an error, never a silently shorter object.
 */
import { ArborError } from "../errors.js";
import { fs } from "./node-builtins.js";

/** Largest chunk {@link readSizedChunks} yields. */
const CHUNK = 4 << 20;

function shrank(path: string, doing: string): ArborError {
  return new ArborError("IO", `File "${path}" shrank while being ${doing}`);
}

/**
 * The first `size` bytes of `path`, read synchronously.
 * @param doing what the caller is doing, for the error ("read", "committed").
 * @throws ArborError IO `File "PATH" shrank while being DOING`; Node system errors from open/read.
 */
export function readSizedSync(path: string, size: number, doing = "read"): Uint8Array {
  const fd = fs.openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = fs.readSync(fd, buf, off, size - off, off);
      if (n === 0) throw shrank(path, doing);
      off += n;
    }
    return buf;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The first `size` bytes of `path` in chunks of at most 4 MiB, read off the main thread.
 * @param doing what the caller is doing, for the error ("read", "committed").
 * @throws ArborError IO `File "PATH" shrank while being DOING`; Node system errors from open/read.
 */
export async function* readSizedChunks(
  path: string,
  size: number,
  doing = "read",
): AsyncGenerator<Uint8Array> {
  const { open } = await import("node:fs/promises");
  const fh = await open(path, "r");
  try {
    let pos = 0;
    while (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) throw shrank(path, doing);
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
