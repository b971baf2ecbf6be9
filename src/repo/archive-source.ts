/**
 * Open an archive for `commit --tree=tar=FILE` (FILE `-` is standard input): undo gzip, bzip2, xz
 * or zstd compression (sniffed from the first bytes, not the name), then tell tar from cpio.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { ArborError } from "../errors.js";
import { isCpioMagic } from "./cpio-reader.js";

/** An opened, decompressed archive stream and its container format. */
export interface ArchiveSource {
  stream: Readable;
  /** `empty`: a tar archive holding only its end-of-archive (zero) blocks. */
  format: "tar" | "cpio" | "empty";
}

/** Read at least `n` bytes (fewer at end of stream) and return them with a stream of the whole. */
async function peek(src: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const got: Buffer[] = [];
  let len = 0;
  let ended = false;
  while (len < n) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = Buffer.from(r.value);
    got.push(b);
    len += b.length;
  }
  const head = Buffer.concat(got);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value);
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

function decompressWith(tool: string, src: Readable, label: string): Readable {
  const child = spawn(tool, ["-dc"], { stdio: ["pipe", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  child.stdin.on("error", () => {}); // reported through the exit status
  src.on("error", (e) => child.stdout.destroy(e));
  src.pipe(child.stdin);
  child.on("error", (e) =>
    child.stdout.destroy(
      new ArborError("UNSUPPORTED", `Cannot decompress "${label}" with ${tool}: ${e.message}`),
    ),
  );
  child.on("close", (code) => {
    if (code) child.stdout.destroy(new ArborError("IO", `Cannot decompress "${label}": ${err.trim()}`));
  });
  return child.stdout;
}

/**
 * Open `path` (`-`: standard input), decompressed, with its format.
 * @throws ArborError NOT_FOUND / IO when it cannot be read; UNSUPPORTED if a decompressor is missing.
 */
export async function openArchiveSource(path: string): Promise<ArchiveSource> {
  const label = path === "-" ? "<stdin>" : path;
  const raw: Readable = path === "-" ? process.stdin : createReadStream(path);
  let { head, stream } = await peek(raw, 6);
  const starts = (...b: number[]): boolean => b.every((x, i) => head[i] === x);
  let plain: Readable | null = null;
  if (starts(0x1f, 0x8b)) plain = stream.pipe(createGunzip());
  else if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) plain = decompressWith("xz", stream, label);
  else if (starts(0x28, 0xb5, 0x2f, 0xfd)) plain = decompressWith("zstd", stream, label);
  else if (starts(0x42, 0x5a, 0x68)) plain = decompressWith("bzip2", stream, label);
  if (plain) {
    const from = stream;
    if (plain !== stream) from.on("error", (e) => plain?.destroy(e));
    ({ head, stream } = await peek(plain, 512));
  } else if (head.length < 512) ({ head, stream } = await peek(stream, 512));
  const empty = head.length >= 512 && head.subarray(0, 512).every((b) => b === 0);
  if (empty) stream.resume();
  return { stream, format: isCpioMagic(head) ? "cpio" : empty ? "empty" : "tar" };
}
