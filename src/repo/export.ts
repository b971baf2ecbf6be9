/**
 * `export`: a commit's tree (or a subdirectory of it) as a tar stream, byte for byte what
 * `ostree export` 2022.7 writes (libarchive's GNU tar format), checked against it:
 *  - entries in tree order: a directory, then its files (sorted by name), then each subdirectory
 *    in turn; names are relative (`./` for the root, directories end in `/`), optionally behind a
 *    plain string prefix (`--prefix=foo/` gives `foo/usr/…`; the root becomes `foo/`);
 *  - owner, group and mode bits as stored, no user/group names, mtime = the commit's timestamp;
 *    symlinks carry their target; no hard links (a tree has none) and no xattrs (GNU tar cannot
 *    hold them; `xattrs: true` adds PAX `SCHILY.xattr.*` records, which GNU tar and libarchive read);
 *  - names or link targets over 100 bytes get a preceding `././@LongLink` entry (`L`/`K`);
 *    numbers too big for octal use the base-256 form;
 *  - the archive ends with two zero blocks; written to a stream (stdout), a pipe or a device it is
 *    padded to a whole 10240-byte record, written to a regular file it is not.
 * The tree is walked iteratively and file data is streamed, so memory stays flat for any tree.
 */
import { once } from "node:events";
import { closeSync, fstatSync, openSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";
import type { Xattrs } from "../core/content-header.js";
import { isLnk } from "../core/mode.js";
import { ArborError, fromSystemError } from "../errors.js";
import { lookupPath } from "./lookup.js";
import { fileDataStream, readFileDataSync, statFileObject } from "./read-object.js";
import { resolveRev } from "./refs.js";
import type { Repo } from "./repo.js";

/** Anything that takes bytes in order (the CLI passes its stdout). */
export interface ByteSink {
  write(chunk: Uint8Array): void | Promise<void>;
}

/** Options for {@link exportTar}. */
export interface ExportOptions {
  /** Where the tar goes: a file path (created or truncated), a Node stream, or a {@link ByteSink}. */
  output: string | Writable | ByteSink;
  /** Export only this directory of the tree (`--subpath`). */
  subpath?: string;
  /** Put in front of every name, as a plain string (`--prefix`; include the trailing `/`). */
  prefix?: string;
  /** Add PAX xattr records (off by default, like ostree, whose GNU tar output has none). */
  xattrs?: boolean;
  /** Pad the end to a whole 10240-byte record; default: yes for streams, pipes and devices. */
  padRecord?: boolean;
  signal?: AbortSignal;
}

/** What {@link exportTar} wrote. */
export interface ExportResult {
  commit: string;
  entries: number;
  bytes: number;
}

const BLOCK = 512;
const RECORD = 10240;
const SMALL = 1 << 20;
const enc = new TextEncoder();

/** Write `value` into `h[off, off+size)` as libarchive's GNU writer does: octal, else base-256. */
function putNumber(h: Uint8Array, off: number, size: number, value: number | bigint): void {
  const v = BigInt(value);
  if (v >= 0n && v < 8n ** BigInt(size - 1)) {
    const s = v.toString(8).padStart(size - 1, "0");
    for (let i = 0; i < size - 1; i++) h[off + i] = s.charCodeAt(i);
    h[off + size - 1] = 0;
    return;
  }
  let x = BigInt.asUintN(8 * (size - 1), v);
  for (let i = size - 1; i >= 1; i--) {
    h[off + i] = Number(x & 0xffn);
    x >>= 8n;
  }
  h[off] = v < 0n ? 0xff : 0x80;
}

function putBytes(h: Uint8Array, off: number, size: number, b: Uint8Array): void {
  h.set(b.length > size ? b.subarray(0, size) : b, off);
}

interface Header {
  name: Uint8Array;
  type: "0" | "2" | "5" | "L" | "K" | "x";
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  link: Uint8Array;
  names?: boolean;
}

function encodeHeader(e: Header): Uint8Array {
  const h = new Uint8Array(BLOCK);
  putBytes(h, 0, 100, e.name);
  putNumber(h, 100, 8, e.mode & 0o7777);
  putNumber(h, 108, 8, e.uid);
  putNumber(h, 116, 8, e.gid);
  putNumber(h, 124, 12, e.size);
  putNumber(h, 136, 12, e.mtime);
  h[156] = e.type.charCodeAt(0);
  putBytes(h, 157, 100, e.link);
  putBytes(h, 257, 8, enc.encode("ustar  \0"));
  if (e.names) {
    // GNU tar writes these for its long-name entries; libarchive copies it.
    putBytes(h, 265, 32, enc.encode("root"));
    putBytes(h, 297, 32, enc.encode("wheel"));
  }
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  const s = sum.toString(8).padStart(6, "0");
  for (let i = 0; i < 6; i++) h[148 + i] = s.charCodeAt(i);
  h[154] = 0;
  h[155] = 0x20;
  return h;
}

/** A PAX record `LEN key=value\n`, where LEN is the record's length in bytes including itself. */
function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const head = enc.encode(` ${key}=`);
  const rest = head.length + value.length + 1;
  let len = rest + String(rest).length;
  while (String(len).length + rest !== len) len = String(len).length + rest;
  const out = new Uint8Array(len);
  const digits = enc.encode(String(len));
  out.set(digits, 0);
  out.set(head, digits.length);
  out.set(value, digits.length + head.length);
  out[len - 1] = 0x0a;
  return out;
}

/** Buffers small writes into large ones, then hands them to the output. */
class BlockWriter {
  bytes = 0;
  private buf = new Uint8Array(1 << 20);
  private used = 0;

  constructor(private readonly out: (chunk: Uint8Array) => void | Promise<void>) {}

  async write(b: Uint8Array): Promise<void> {
    this.bytes += b.length;
    if (this.used + b.length > this.buf.length) await this.flush();
    if (b.length >= this.buf.length) {
      await this.out(b);
      return;
    }
    this.buf.set(b, this.used);
    this.used += b.length;
  }

  async pad(to: number): Promise<void> {
    const rem = this.bytes % to;
    if (rem) await this.write(new Uint8Array(to - rem));
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const chunk = this.buf.slice(0, this.used);
    this.used = 0;
    await this.out(chunk);
  }
}

/** An output target: the byte callback, whether to pad the last record, and how to finish. */
function openOutput(o: ExportOptions["output"]): {
  write: (c: Uint8Array) => void | Promise<void>;
  pad: boolean;
  close: () => Promise<void>;
} {
  if (typeof o === "string") {
    let fd: number;
    try {
      fd = openSync(o, "w", 0o666);
    } catch (e) {
      throw fromSystemError(`Cannot open "${o}" for writing`, e);
    }
    const pad = !fstatSync(fd).isFile();
    return {
      write: (c) => {
        let off = 0;
        while (off < c.length) off += writeSync(fd, c, off, c.length - off);
      },
      pad,
      close: async () => closeSync(fd),
    };
  }
  if (typeof (o as Writable).once === "function" && typeof (o as Writable).end === "function") {
    const w = o as Writable;
    return {
      write: async (c) => {
        if (!w.write(c)) await once(w, "drain");
      },
      pad: true,
      close: async () => {},
    };
  }
  return { write: (c) => (o as ByteSink).write(c), pad: true, close: async () => {} };
}

/**
 * Write a commit's tree (or `subpath` of it) as a tar archive, as `ostree export` does.
 * @example await exportTar(repo, "os/stable", { output: "/tmp/os.tar", prefix: "rootfs/" });
 * @throws ArborError NOT_FOUND (rev, or a subpath not in the tree), USAGE (subpath is not a
 *   directory), OBJECT_NOT_FOUND / OBJECT_CORRUPT, IO, NO_SPACE, ABORTED.
 */
export async function exportTar(repo: Repo, rev: string, opts: ExportOptions): Promise<ExportResult> {
  const commit = resolveRev(repo, rev)!;
  const c = repo.loadCommit(commit);
  let root = { tree: c.rootTree, meta: c.rootMeta };
  if (opts.subpath !== undefined) {
    const hit = lookupPath(repo, c.rootTree, c.rootMeta, opts.subpath);
    if (hit === null)
      throw new ArborError("NOT_FOUND", `Cannot export "${opts.subpath}": no such path in ${commit}`);
    if (hit.kind !== "dir") throw new ArborError("USAGE", `Cannot export "${opts.subpath}": not a directory`);
    root = { tree: hit.tree, meta: hit.meta };
  }
  const out = openOutput(opts.output);
  const w = new BlockWriter(out.write);
  const prefix = opts.prefix ?? "";
  const mtime = c.timestamp;
  let entries = 0;

  const emit = async (
    rel: string | null,
    kind: "0" | "2" | "5",
    m: { uid: number; gid: number; mode: number; xattrs: Xattrs },
    size: number,
    target: string,
  ): Promise<void> => {
    let path = prefix ? prefix + (rel ?? "") : (rel ?? ".");
    if (kind === "5" && !path.endsWith("/")) path += "/";
    const name = enc.encode(path);
    const link = enc.encode(target);
    const base = { mode: 0, uid: 0, gid: 0, mtime: 0, link, names: true };
    if (opts.xattrs && m.xattrs.length) {
      const recs = m.xattrs.map(([k, v]) => paxRecord(`SCHILY.xattr.${k}`, v));
      const data = Buffer.concat(recs);
      const xname = enc.encode(`PaxHeader/${path.replace(/\/$/, "").split("/").pop()}`);
      await w.write(
        encodeHeader({
          ...base,
          name: xname,
          type: "x",
          size: data.length,
          mode: 0o644,
          mtime,
          link: new Uint8Array(0),
          names: false,
        }),
      );
      await w.write(data);
      await w.pad(BLOCK);
    }
    if (link.length > 100) await longLink("K", link, base);
    if (name.length > 100) await longLink("L", name, base);
    await w.write(
      encodeHeader({ name, type: kind, mode: m.mode, uid: m.uid, gid: m.gid, size, mtime, link }),
    );
    entries++;
  };
  const longLink = async (
    type: "L" | "K",
    value: Uint8Array,
    base: Omit<Header, "name" | "type" | "size">,
  ): Promise<void> => {
    await w.write(encodeHeader({ ...base, name: enc.encode("././@LongLink"), type, size: value.length + 1 }));
    await w.write(value);
    await w.write(new Uint8Array(1));
    await w.pad(BLOCK);
  };

  try {
    const stack: Array<{ tree: string; meta: string; rel: string | null }> = [{ ...root, rel: null }];
    while (stack.length) {
      opts.signal?.throwIfAborted();
      const d = stack.pop()!;
      await emit(d.rel, "5", repo.loadDirmeta(d.meta), 0, "");
      const dt = repo.loadDirtree(d.tree);
      const under = (name: string): string => (d.rel === null ? name : `${d.rel}/${name}`);
      for (const f of dt.files) {
        const obj = statFileObject(repo, f.checksum);
        const h = obj.header;
        if (isLnk(h.mode)) {
          await emit(under(f.name), "2", h, 0, h.symlinkTarget);
          continue;
        }
        await emit(under(f.name), "0", h, obj.size, "");
        if (obj.size < SMALL) await w.write(readFileDataSync(obj));
        else for await (const chunk of fileDataStream(obj)) await w.write(chunk);
        await w.pad(BLOCK);
      }
      for (let i = dt.dirs.length - 1; i >= 0; i--) {
        const s = dt.dirs[i]!;
        stack.push({ tree: s.tree, meta: s.meta, rel: under(s.name) });
      }
    }
    await w.write(new Uint8Array(2 * BLOCK));
    if (opts.padRecord ?? out.pad) await w.pad(RECORD);
    await w.flush();
  } finally {
    await out.close();
  }
  return { commit, entries, bytes: w.bytes };
}
