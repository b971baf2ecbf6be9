/**
 * A bounds-checked streaming reader for cpio archives in the SVR4 "newc" format (magic `070701`,
 * and `070702` with checksums), as written by `cpio -o -H newc`. Each member is a 110-byte ASCII
 * hex header, its NUL-terminated name padded to 4 bytes, then its data padded to 4 bytes; the
 * archive ends with a member named `TRAILER!!!`. Hard-link sets carry their data on one member
 * (GNU cpio: the last); the others have size 0 and are reported as links to it.
 */
import { ArborError } from "../errors.js";

/** One archive member, with link sets resolved. */
export type CpioEntry =
  | { kind: "dir"; path: string; mode: number; uid: number; gid: number }
  | { kind: "file"; path: string; mode: number; uid: number; gid: number; data: Buffer }
  | { kind: "symlink"; path: string; mode: number; uid: number; gid: number; target: string }
  /** `path` is another name for the earlier member `target` (same inode). */
  | { kind: "hardlink"; path: string; target: string };

const HEADER = 110;
/** Largest member accepted (members are held in memory while they are stored). */
export const CPIO_MAX_MEMBER = 4 * 1024 * 1024 * 1024 - 1;
const MAX_NAME = 4096;

/** True if `head` starts with a newc / crc cpio magic. */
export function isCpioMagic(head: Uint8Array): boolean {
  const m = Buffer.from(head.subarray(0, 6)).toString("latin1");
  return m === "070701" || m === "070702";
}

/** Reads exact byte counts from an async byte stream (chunks joined once per read, not per chunk). */
class ByteReader {
  private chunks: Buffer[] = [];
  private len = 0;
  private done = false;
  constructor(private readonly it: AsyncIterator<Buffer | Uint8Array | string>) {}
  /** Exactly `n` bytes, or null at a clean end of stream before a header's first byte. */
  async take(n: number, what: string, fail: (m: string) => never): Promise<Buffer | null> {
    while (this.len < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        const b = Buffer.from(r.value);
        this.chunks.push(b);
        this.len += b.length;
      }
    }
    if (this.len < n) {
      if (this.len === 0 && what === "header") return null;
      fail(`truncated ${what} (${this.len} of ${n} bytes)`);
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.len);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.len = rest.length;
    return out;
  }
}

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

interface Pending {
  path: string;
  mode: number;
  uid: number;
  gid: number;
}

/**
 * Parse a newc/crc cpio stream (callers add the archive's name to errors). Member names are
 * returned as stored: validating their components (`..`, empty) is the caller's job.
 * @throws ArborError OBJECT_CORRUPT for a malformed, truncated or oversized archive.
 */
export async function* readCpio(src: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<CpioEntry> {
  const fail = (m: string): never => {
    throw new ArborError("OBJECT_CORRUPT", `malformed cpio data: ${m}`);
  };
  const r = new ByteReader(src[Symbol.asyncIterator]());
  // link sets waiting for the member that carries their data: "dev:ino" → names
  const links = new Map<string, { first: string | null; pending: Pending[] }>();
  let offset = 0;
  for (;;) {
    const h = await r.take(HEADER, "header", fail);
    if (!h) fail("missing TRAILER!!! member");
    const hdr = h as Buffer;
    const magic = hdr.toString("latin1", 0, 6);
    if (magic !== "070701" && magic !== "070702")
      fail(`bad magic "${magic.replace(/[^\x20-\x7e]/g, "?")}" at offset ${offset}`);
    const field = (i: number, label: string): number => {
      const s = hdr.toString("latin1", 6 + i * 8, 14 + i * 8);
      if (!/^[0-9a-fA-F]{8}$/.test(s)) fail(`bad hex in ${label} field at offset ${offset}`);
      return Number.parseInt(s, 16);
    };
    const ino = field(0, "ino");
    const mode = field(1, "mode");
    const uid = field(2, "uid");
    const gid = field(3, "gid");
    const nlink = field(4, "nlink");
    const size = field(6, "filesize");
    const dev = `${field(7, "devmajor")}:${field(8, "devminor")}`;
    const namesize = field(11, "namesize");
    if (namesize < 1 || namesize > MAX_NAME) fail(`bad name size ${namesize} at offset ${offset}`);
    const nb = (await r.take(namesize + pad4(HEADER + namesize), "name", fail)) as Buffer;
    if (nb[namesize - 1] !== 0) fail(`member name at offset ${offset} is not NUL-terminated`);
    const path = nb.toString("utf8", 0, namesize - 1);
    if (path.includes("\0")) fail(`member name at offset ${offset} contains a NUL byte`);
    if (size > CPIO_MAX_MEMBER) fail(`member "${path}" is too large (${size} bytes)`);
    const data = (await r.take(size + pad4(size), `data of "${path}"`, fail)) as Buffer;
    offset += HEADER + nb.length + data.length;
    if (path === "TRAILER!!!") break;
    const body = data.subarray(0, size);
    const type = mode & 0o170000;
    const perm = mode & 0o7777;
    if (type === 0o040000) yield { kind: "dir", path, mode: perm, uid, gid };
    else if (type === 0o120000) {
      if (size === 0) fail(`symlink "${path}" has an empty target`);
      yield { kind: "symlink", path, mode: perm, uid, gid, target: body.toString("utf8") };
    } else if (type === 0o100000) {
      const key = `${dev}:${ino}`;
      if (nlink > 1 && size === 0) {
        const set = links.get(key);
        if (set?.first) yield { kind: "hardlink", path, target: set.first };
        else if (set) set.pending.push({ path, mode: perm, uid, gid });
        else links.set(key, { first: null, pending: [{ path, mode: perm, uid, gid }] });
        continue;
      }
      yield { kind: "file", path, mode: perm, uid, gid, data: body };
      if (nlink > 1) {
        const set = links.get(key);
        for (const p of set?.pending ?? []) yield { kind: "hardlink", path: p.path, target: path };
        links.set(key, { first: path, pending: [] });
      }
    } else fail(`member "${path}" has an unsupported file type (mode ${mode.toString(8)})`);
  }
  // link sets whose data never came: empty files
  for (const set of links.values()) {
    const [head, ...rest] = set.pending;
    if (!head) continue;
    yield { kind: "file", ...head, data: Buffer.alloc(0) };
    for (const p of rest) yield { kind: "hardlink", path: p.path, target: head.path };
  }
}
