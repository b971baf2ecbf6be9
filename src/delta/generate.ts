/**
 * Static delta generation (`static-delta generate`, fact sheet §6): the objects reachable from
 * the to-commit and not from the from-commit (all of them for a from-scratch delta), the commit
 * itself excluded (it is embedded in the superblock). Metadata and small content go whole into
 * parts (`S`); content of at least `minFallbackSize` bytes is listed as a fallback (clients fetch
 * it loose); a new regular file similar to an old one (similar.ts: same basename, size within 30%)
 * is sent as a bsdiff patch against it (`r o B c R`) unless bsdiff is disabled or the pair is
 * larger than `maxBsdiffSize`. Parts are cut at `maxChunkSize` bytes of blob, xz-compressed one at a time.
 */
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { sha256Hex } from "../core/checksum.js";
import { decodeDirtree, decodeVarDict } from "../core/metadata.js";
import { isLnk, isReg } from "../core/mode.js";
import { ArborError, fromSystemError } from "../errors.js";
import { Variant } from "../gvariant/index.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { commitmetaKey, type DeltaEndpoints, deltaDir, inlinePartKey } from "../repo/delta-naming.js";
import { readFileDataSync, statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";
import { bsdiff } from "./bsdiff.js";
import { encodePartFile } from "./part.js";
import { type BuiltPart, PartBuilder } from "./part-builder.js";
import { type KeyInput, signSuperblock } from "./sign.js";
import { type SizeNames, similarObjects } from "./similar.js";
import { type DeltaFallback, type DeltaPartHeader, encodeSuperblock, withEndianness } from "./superblock.js";

const MB = 1000 * 1000;

/** Options of {@link generateDelta}. */
export interface GenerateOptions {
  /** null = from scratch. */
  from: string | null;
  to: string;
  /** Store parts in the superblock (`--inline`). */
  inline?: boolean;
  /** Write the superblock to this file (parts beside it) instead of the repository. */
  filename?: string;
  disableBsdiff?: boolean;
  /** Bytes; content at least this big becomes a fallback (default 4 MB). */
  minFallbackSize?: number;
  /** Bytes; larger files are not bsdiffed (default 128 MB). */
  maxBsdiffSize?: number;
  /** Bytes of blob per part (default 32 MB). */
  maxChunkSize?: number;
  /** Byte order of the sizes (default: little, the host's). */
  bigEndian?: boolean;
  /** Sign the superblock (`--sign-type`, `--sign`). */
  signType?: string;
  /** Secret keys, as typed or already parsed (keys file). */
  signKeys?: KeyInput[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Clock in seconds (tests). */
  now?: () => number;
}

/** What generation did, for the lines ostree prints. */
export interface GenerateReport {
  modified: number;
  newMetadata: number;
  newRegular: number;
  newSymlink: number;
  bsdiff: number;
  parts: Array<{ objects: number; compressed: number; uncompressed: number }>;
  fallbacks: number;
  /** Totals over parts, and the loose size of the new objects. */
  uncompressed: number;
  compressed: number;
  loose: number;
  /** Where the superblock was written. */
  path: string;
}

interface Reach {
  meta: Array<{ type: "dirtree" | "dirmeta"; checksum: string }>;
  files: Map<string, string>; // checksum -> first path (in walk order)
  names: Map<string, Set<string>>; // checksum -> basenames
}

function reach(repo: Repo, commit: string): Reach {
  const c = repo.loadCommit(commit);
  const r: Reach = { meta: [], files: new Map(), names: new Map() };
  const seenMeta = new Set<string>();
  const addMeta = (type: "dirtree" | "dirmeta", cs: string): boolean => {
    const k = `${cs}.${type}`;
    if (seenMeta.has(k)) return false;
    seenMeta.add(k);
    r.meta.push({ type, checksum: cs });
    return true;
  };
  const walk = (tree: string, meta: string, path: string): void => {
    addMeta("dirmeta", meta);
    const fresh = addMeta("dirtree", tree);
    const t = decodeDirtree(repo.readMetadata("dirtree", tree), `dirtree ${tree}`);
    for (const f of t.files) {
      const p = `${path}/${f.name}`;
      const names = r.names.get(f.checksum) ?? new Set<string>();
      names.add(f.name);
      r.names.set(f.checksum, names);
      if (!r.files.has(f.checksum)) r.files.set(f.checksum, p);
    }
    // an identical subtree seen before contributes the same objects (paths only matter for bsdiff)
    if (!fresh && path !== "") return;
    for (const d of t.dirs) walk(d.tree, d.meta, `${path}/${d.name}`);
  };
  walk(c.rootTree, c.rootMeta, "");
  return r;
}

function regularFiles(repo: Repo, r: Reach): SizeNames[] {
  const out: SizeNames[] = [];
  for (const [cs] of r.files) {
    const obj = statFileObject(repo, cs);
    if (isReg(obj.header.mode)) out.push({ checksum: cs, size: obj.size, names: [...r.names.get(cs)!] });
  }
  return out;
}

function looseSize(repo: Repo, type: "file" | "dirtree" | "dirmeta", cs: string): number {
  try {
    return statSync(repo.objectPath(cs, type)).size;
  } catch {
    return 0;
  }
}

/**
 * Generate a delta. Writes `deltas/…/{0,1,…,superblock}` in the repository (replacing an older
 * delta between the same commits) or, with `filename`, the superblock there and parts beside it.
 * @throws ArborError OBJECT_NOT_FOUND (a commit or object is missing), UNSUPPORTED (no xz, sign
 *   type), IO
 */
export async function generateDelta(repo: Repo, o: GenerateOptions): Promise<GenerateReport> {
  const ends: DeltaEndpoints = { from: o.from, to: o.to };
  const commitBytes = repo.readMetadata("commit", o.to);
  const toReach = reach(repo, o.to);
  const fromReach = o.from ? reach(repo, o.from) : null;
  const fromMeta = new Set(fromReach?.meta.map((m) => `${m.checksum}.${m.type}`) ?? []);
  const minFallback = o.minFallbackSize ?? 4 * MB;
  const maxBsdiff = o.maxBsdiffSize ?? 128 * MB;
  const report: GenerateReport = {
    modified: 0,
    newMetadata: 1,
    newRegular: 0,
    newSymlink: 0,
    bsdiff: 0,
    parts: [],
    fallbacks: 0,
    uncompressed: 0,
    compressed: 0,
    loose: 0,
    path: "",
  };
  // parts are staged beside their destination, so moving them into place is a rename
  const tmp = mkdtempSync(
    o.filename ? join(dirname(o.filename), ".delta-") : join(repo.path, "tmp", "delta-"),
  );
  try {
    const builder = new PartBuilder(o.maxChunkSize ?? 32 * MB);
    const headers: DeltaPartHeader[] = [];
    const inlined: Uint8Array[] = [];
    const drain = async (): Promise<void> => {
      for (let p = builder.parts.shift(); p; p = builder.parts.shift()) await emit(p);
    };
    const emit = async (p: BuiltPart): Promise<void> => {
      const file = await encodePartFile(p.payload);
      const uncompressedSize = p.objectBytes;
      const i = headers.length;
      headers.push({
        version: 0,
        checksum: sha256Hex(file),
        compressedSize: file.length,
        uncompressedSize,
        objects: p.objects,
      });
      report.parts.push({
        objects: p.objects.length,
        compressed: file.length,
        uncompressed: uncompressedSize,
      });
      report.compressed += file.length;
      report.uncompressed += uncompressedSize;
      if (o.inline) inlined.push(file);
      else writeFileAtomicSync(join(tmp, String(i)), file, { mode: 0o644, fsync: false });
    };
    for (const m of toReach.meta) {
      if (fromMeta.has(`${m.checksum}.${m.type}`)) continue;
      report.newMetadata++;
      report.loose += looseSize(repo, m.type, m.checksum);
      builder.addMetadata(m, repo.readMetadata(m.type, m.checksum));
      await drain();
    }
    const fallbacks: DeltaFallback[] = [];
    const newRegular: SizeNames[] = [];
    for (const [cs] of toReach.files) {
      if (fromReach?.files.has(cs)) continue;
      const obj = statFileObject(repo, cs);
      report.loose += looseSize(repo, "file", cs);
      if (isLnk(obj.header.mode)) report.newSymlink++;
      else report.newRegular++;
      if (isReg(obj.header.mode))
        newRegular.push({ checksum: cs, size: obj.size, names: [...toReach.names.get(cs)!] });
    }
    const modified = fromReach ? similarObjects(regularFiles(repo, fromReach), newRegular) : new Map();
    report.modified = modified.size;
    const patched = new Set<string>();
    for (const [cs, old] of modified) {
      if (o.disableBsdiff) break;
      const neu = statFileObject(repo, cs);
      const src = statFileObject(repo, old);
      // as ostree: only sources any client can read, and the pair within --max-bsdiff-size
      if (!isReg(src.header.mode) || (src.header.mode & 0o004) === 0 || neu.size >= minFallback) continue;
      if (neu.size + src.size > maxBsdiff) continue;
      const patch = bsdiff(readFileDataSync(src), readFileDataSync(neu));
      builder.addPatched({ type: "file", checksum: cs }, neu.header, neu.size, old, patch);
      patched.add(cs);
      report.bsdiff++;
      await drain();
    }
    for (const [cs] of toReach.files) {
      if (fromReach?.files.has(cs) || patched.has(cs)) continue;
      const obj = statFileObject(repo, cs);
      if (obj.size >= minFallback) {
        fallbacks.push({
          type: "file",
          checksum: cs,
          compressedSize: looseSize(repo, "file", cs),
          uncompressedSize: obj.size,
        });
        continue;
      }
      const data = isLnk(obj.header.mode)
        ? new TextEncoder().encode(obj.header.symlinkTarget)
        : readFileDataSync(obj);
      builder.addContent(
        { type: "file", checksum: cs },
        { ...obj.header, symlinkTarget: "" },
        data,
        obj.size,
      );
      await drain();
    }
    builder.finish();
    await drain();
    report.fallbacks = fallbacks.length;

    const meta: Array<[string, Variant]> = withEndianness([], o.bigEndian ?? false);
    inlined.forEach((file, i) => {
      meta.push([inlinePartKey(ends, i), new Variant("(yay)", [file[0]!, file.subarray(1)])]);
    });
    const cm = repo.readMetadataMaybe("commitmeta", o.to);
    if (cm) meta.push([commitmetaKey(ends), new Variant("a{sv}", decodeVarDict(cm, `commitmeta ${o.to}`))]);
    let superblock = encodeSuperblock({
      metadata: meta,
      timestamp: o.now ? o.now() : Math.floor(Date.now() / 1000),
      from: o.from,
      to: o.to,
      commit: commitBytes,
      parts: headers,
      fallbacks,
      bigEndian: o.bigEndian ?? false,
    });
    if (o.signKeys?.length)
      superblock = await signSuperblock(superblock, o.signType ?? "ed25519", o.signKeys, o.env);
    report.path = publish(repo, ends, tmp, headers.length, superblock, o);
    return report;
  } catch (e) {
    throw e instanceof ArborError ? e : fromSystemError(`Cannot generate static delta to ${o.to}`, e);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Move parts into place, then write the superblock (the delta's commit point). */
function publish(
  repo: Repo,
  ends: DeltaEndpoints,
  tmp: string,
  nparts: number,
  superblock: Uint8Array,
  o: GenerateOptions,
): string {
  const dest = o.filename ? dirname(o.filename) : join(repo.path, deltaDir(ends));
  const sbPath = o.filename ?? join(dest, "superblock");
  mkdirSync(dest, { recursive: true, mode: 0o755 });
  if (!o.filename) {
    // an older delta between the same commits: its superblock goes first, so no reader pairs it
    // with the new parts
    for (const f of readdirSync(dest)) rmSync(join(dest, f), { recursive: true, force: true });
  }
  if (!o.inline) for (let i = 0; i < nparts; i++) renameSync(join(tmp, String(i)), join(dest, String(i)));
  writeFileAtomicSync(sbPath, superblock, { mode: 0o644 });
  return sbPath;
}
