/**
 * Fast, ordered output for the CLI.
 *
 * Text is buffered and written with synchronous `write(2)` calls on the file descriptor: a command
 * that prints 25k lines (`ls -R`) makes a handful of syscalls instead of 25k stream writes, the
 * output is complete when `run()` returns (no lost tail on exit), and stdout/stderr stay in the
 * order they were written because stdout is flushed before anything goes to stderr.
 * We never touch `process.stdout` (its lazy stream setup costs start-up time and can switch the
 * pipe to non-blocking mode); commands must print through their context's `out`/`err`.
 *
 * Machine output is one JSON object per line: `{"apiVersion":"arbor/v1","kind":…,…}`.
 */

import { createRequire } from "node:module";
import { errnoCode } from "../errors.js";

/** Version tag of every JSON document the CLI prints. */
export const API_VERSION = "arbor/v1";

/** Where bytes go. `fdSink(1)` in real runs; tests pass an object that collects strings. */
export interface Sink {
  write(chunk: string | Uint8Array): void;
}

const HIGH_WATER = 64 * 1024;

const require = createRequire(import.meta.url);

/**
 * `node:fs` for the CLI's few synchronous calls. Loaded through `require` on purpose: an ESM
 * `import … from "node:fs"` builds the whole namespace, which evaluates fs's lazy getters and loads
 * the stream machinery (~19 internal modules, several ms of start-up) that `--help` never needs.
 */
export const syncFs: typeof import("node:fs") = require("node:fs");

let tty: typeof import("node:tty") | undefined;

/**
 * True if `fd` is a terminal. `node:tty` is loaded on first use only: it drags in `net` and the
 * stream machinery (~30 internal modules), which would cost every command start-up time.
 */
export function isTerminal(fd: number): boolean {
  tty ??= require("node:tty") as typeof import("node:tty");
  return tty.isatty(fd);
}

let sleepCell: Int32Array | undefined;
function sleepMs(ms: number): void {
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}

/**
 * A sink writing synchronously to a file descriptor, looping over short writes and waiting out
 * `EAGAIN` (a pipe someone else switched to non-blocking mode).
 * @throws the system error (`EPIPE` when the reader went away).
 */
export function fdSink(fd: number): Sink {
  return {
    write(chunk) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
      let off = 0;
      while (off < buf.length) {
        try {
          off += syncFs.writeSync(fd, buf, off, buf.length - off);
        } catch (e) {
          if (errnoCode(e) !== "EAGAIN") throw e;
          sleepMs(1);
        }
      }
    },
  };
}

/** Options for an {@link Output}. */
export interface OutputOptions {
  /** Buffer this many characters before writing (default 64 Ki). */
  highWater?: number;
  /** Write every call through at once (stderr). */
  unbuffered?: boolean;
  /** Flush this output before each write, to keep the interleaving right (stderr after stdout). */
  after?: Output;
}

/** A buffered text/bytes writer over a {@link Sink}. */
export class Output {
  private parts: string[] = [];
  private size = 0;
  private dead = false;
  private readonly highWater: number;
  private readonly after: Output | undefined;

  constructor(
    private readonly sink: Sink,
    options: OutputOptions = {},
  ) {
    this.highWater = options.unbuffered ? 0 : (options.highWater ?? HIGH_WATER);
    this.after = options.after;
  }

  /** True once a write failed with `EPIPE`; later output is dropped silently. */
  get broken(): boolean {
    return this.dead;
  }

  /** Append text (no newline added). */
  write(text: string): void {
    if (this.dead) return;
    this.flushAfter();
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= this.highWater) this.flush();
  }

  /** Append one line (a newline is added). */
  line(text = ""): void {
    this.write(`${text}\n`);
  }

  /** Append many lines. */
  lines(lines: Iterable<string>): void {
    for (const l of lines) this.write(`${l}\n`);
  }

  /** Write raw bytes (file contents, tar streams), after any buffered text. */
  bytes(data: Uint8Array): void {
    if (this.dead) return;
    this.flushAfter();
    this.flush();
    this.send(data);
  }

  /** Print a versioned JSON document on one line. */
  json(kind: string, data: object): void {
    this.write(formatJson(kind, data));
  }

  /**
   * Write out everything buffered.
   * @throws the sink's error; after an `EPIPE` the output is marked broken and drops later writes.
   */
  flush(): void {
    if (this.dead || this.size === 0) {
      this.parts = [];
      this.size = 0;
      return;
    }
    const text = this.parts.length === 1 ? this.parts[0]! : this.parts.join("");
    this.parts = [];
    this.size = 0;
    this.send(text);
  }

  private flushAfter(): void {
    if (this.after === undefined) return;
    try {
      this.after.flush();
    } catch {
      // A broken stdout must not stop an error message from reaching stderr.
    }
  }

  private send(chunk: string | Uint8Array): void {
    try {
      this.sink.write(chunk);
    } catch (e) {
      if (errnoCode(e) === "EPIPE") this.dead = true;
      throw e;
    }
  }
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
      ? Number(value)
      : value.toString();
  }
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex");
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

/**
 * The JSON line for `data`: `apiVersion` and `kind` first (and not overridable), then `data`'s
 * fields. BigInts become numbers when safe (else decimal strings), byte arrays become hex.
 * @example formatJson("RevParse", { checksum: "ab12…" }) // '{"apiVersion":"arbor/v1","kind":"RevParse","checksum":"ab12…"}\n'
 */
export function formatJson(kind: string, data: object): string {
  const doc = Object.assign({ apiVersion: API_VERSION, kind }, data, { apiVersion: API_VERSION, kind });
  return `${JSON.stringify(doc, jsonReplacer)}\n`;
}

let stdoutOutput: Output | undefined;
let stderrOutput: Output | undefined;

/** The process-wide buffered stdout (fd 1). */
export function stdout(): Output {
  stdoutOutput ??= new Output(fdSink(1));
  return stdoutOutput;
}

/** The process-wide stderr (fd 2): unbuffered, and flushes stdout before each write. */
export function stderr(): Output {
  stderrOutput ??= new Output(fdSink(2), { unbuffered: true, after: stdout() });
  return stderrOutput;
}

/** Print a versioned JSON document (to the process stdout unless `out` is given). */
export function printJson(kind: string, data: object, out: Output = stdout()): void {
  out.json(kind, data);
}
