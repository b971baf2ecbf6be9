/**
 * Partial downloads kept across attempts and across runs, so an object interrupted mid-transfer
 * is resumed with an HTTP Range request instead of starting over (what lets a pull finish against
 * a server that drops every connection half-way). Only content-addressed files (objects, delta
 * parts) are kept: the same URL always means the same bytes. Bytes received are held in memory
 * and written to `DIR/arbor-partial-<sha256(url)>` only when the transfer fails (or the object is
 * large), so a healthy pull does not write twice. The file is removed once the object is complete
 * or found wrong.
 */
import { createHash } from "node:crypto";
import { closeSync, createReadStream, openSync, readdirSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";

/** Objects larger than this are written to the partial file as they arrive. */
const SPILL_BYTES = 1024 * 1024;

/** True for paths whose content never changes (worth resuming). */
export function isResumablePath(path: string): boolean {
  return /^(objects|deltas)\//.test(path);
}

const PREFIX = "arbor-partial-";

/**
 * One directory of partial downloads. The names present are listed once, when the store is made,
 * and tracked as this process adds and removes them: a healthy pull of thousands of objects then
 * costs no stat/unlink per object (a partial file another process leaves meanwhile is merely not
 * resumed by this one).
 */
export class PartialStore {
  private readonly present = new Set<string>();

  constructor(readonly dir: string) {
    try {
      for (const n of readdirSync(dir)) if (n.startsWith(PREFIX)) this.present.add(n);
    } catch {
      // no directory yet: nothing to resume
    }
  }

  /**
   * The name of `url`'s partial file, which the other methods take: hashed once per download,
   * not at every step of it.
   */
  key(url: string): string {
    return `${PREFIX}${createHash("sha256").update(url).digest("hex")}`;
  }

  /** Bytes already downloaded under `key` (0 if none). */
  size(key: string): number {
    if (!this.present.has(key)) return 0;
    try {
      return statSync(join(this.dir, key)).size;
    } catch {
      this.present.delete(key);
      return 0;
    }
  }

  remove(key: string): void {
    if (!this.present.delete(key)) return;
    rmSync(join(this.dir, key), { force: true });
  }

  /** The bytes kept so far. */
  async *read(key: string): AsyncGenerator<Buffer> {
    for await (const c of createReadStream(join(this.dir, key)) as AsyncIterable<Buffer>) yield c;
  }

  /** A writer that buffers in memory and spills to the partial file when told to or when large. */
  writer(key: string): PartialWriter {
    return new PartialWriter(join(this.dir, key), () => this.present.add(key));
  }
}

/** Collects received bytes; {@link PartialWriter.persist} makes them resumable. */
export class PartialWriter {
  private mem: Buffer[] = [];
  private memBytes = 0;
  private fd: number | null = null;

  constructor(
    private readonly file: string,
    private readonly onCreate: () => void = () => {},
  ) {}

  add(chunk: Buffer): void {
    if (this.fd === null && this.memBytes + chunk.length <= SPILL_BYTES) {
      this.mem.push(chunk);
      this.memBytes += chunk.length;
      return;
    }
    this.spill();
    writeAll(this.fd!, chunk);
  }

  private spill(): void {
    if (this.fd === null) {
      this.fd = openSync(this.file, "a", 0o600);
      this.onCreate();
    }
    for (const b of this.mem) writeAll(this.fd, b);
    this.mem = [];
    this.memBytes = 0;
  }

  /** Keep what was received (the transfer failed and may be resumed). */
  persist(): void {
    try {
      this.spill();
    } catch {
      // no space or no permission: the next attempt simply starts over
    }
    this.close();
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.mem = [];
  }
}

function writeAll(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}
