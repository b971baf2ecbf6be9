/**
 * `commit --tree=tar=FILE`: import a tar archive (plain, gzip, xz or zstd) into a MutableTree.
 * Paths are normalised (leading `/` and `./` dropped) and every component validated, so a hostile
 * archive (`../x`, `a/../../b`, NUL) is refused, never written anywhere.
 */
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import type { Readable } from "node:stream";
import { Parser, type ReadEntry } from "tar";
import type { FileHeader } from "../core/content-header.js";
import { S_IFLNK, S_IFREG } from "../core/mode.js";
import { isValidFilename } from "../core/validate.js";
import { ArborError, withContext } from "../errors.js";
import type { Importer } from "./commit.js";
import type { MutableTree } from "./mutable-tree.js";

/** Split and validate an archive member path. @throws ArborError BAD_NAME */
export function tarPathParts(p: string): string[] {
  const parts = p.split("/").filter((x) => x !== "" && x !== ".");
  for (const x of parts) {
    if (!isValidFilename(x)) throw new ArborError("BAD_NAME", `Invalid path in archive: "${p}"`);
  }
  return parts;
}

/** Decompress by magic: gzip and plain are handled by tar itself; xz and zstd through their tools. */
export async function openArchive(path: string): Promise<Readable> {
  const { open } = await import("node:fs/promises");
  const fh = await open(path, "r");
  const magic = Buffer.alloc(6);
  await fh.read(magic, 0, 6, 0);
  await fh.close();
  const isXz = magic.equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]));
  const isZstd = magic.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
  if (!isXz && !isZstd) return createReadStream(path);
  const child = spawn(isXz ? "xz" : "zstd", ["-dc", path], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => {
    err += d;
  });
  child.on("error", (e) =>
    child.stdout.destroy(new ArborError("UNSUPPORTED", `Cannot decompress "${path}": ${e.message}`)),
  );
  child.on("close", (code) => {
    if (code) child.stdout.destroy(new ArborError("IO", `Cannot decompress "${path}": ${err.trim()}`));
  });
  return child.stdout;
}

function dirAt(root: MutableTree, parts: string[], imp: Importer): MutableTree {
  let d = root;
  for (const p of parts) {
    const existing = d.getDir(p);
    d = d.ensureDir(p);
    if (!existing && !d.meta) d.meta = imp.dirmeta(0, 0, 0o755, []);
  }
  return d;
}

/** Import a tar archive into `root`. */
export async function importTar(imp: Importer, path: string, root: MutableTree): Promise<void> {
  if (!root.meta) root.meta = imp.dirmeta(0, 0, 0o755, []);
  // for hard links: each member's checksum, as a promise registered before the handler's first
  // await (entries are handled concurrently, so a link may arrive before its target is stored)
  const byPath = new Map<string, Promise<string>>();
  const pending: Promise<void>[] = [];
  let failure: unknown = null;
  const parser = new Parser({ strict: true });
  const handle = async (entry: ReadEntry): Promise<void> => {
    const parts = tarPathParts(entry.path);
    const type = entry.type;
    const uid = entry.uid ?? 0;
    const gid = entry.gid ?? 0;
    const perm = (entry.mode ?? 0o644) & 0o7777;
    if (type === "Directory") {
      entry.resume();
      if (parts.length === 0) {
        const m = imp.modify("/", uid, gid, perm, []);
        root.meta = imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
        return;
      }
      const d = dirAt(root, parts, imp);
      const m = imp.modify(`/${parts.join("/")}`, uid, gid, perm, []);
      d.meta = imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
      return;
    }
    if (parts.length === 0) throw new ArborError("BAD_NAME", `Invalid path in archive: "${entry.path}"`);
    const name = parts[parts.length - 1]!;
    const dir = dirAt(root, parts.slice(0, -1), imp);
    const rel = `/${parts.join("/")}`;
    if (imp.mods.skipList?.has(rel)) {
      entry.resume();
      return;
    }
    if (type === "Link") {
      entry.resume();
      const target = `/${tarPathParts(entry.linkpath ?? "").join("/")}`;
      const stored = byPath.get(target);
      if (!stored)
        throw new ArborError(
          "BAD_NAME",
          `Hard link "${entry.path}" points to "${entry.linkpath}", which is not an earlier file in the archive`,
        );
      byPath.set(rel, stored);
      dir.replaceFile(name, await stored);
      return;
    }
    if (type === "SymbolicLink") {
      entry.resume();
      const m = imp.modify(rel, uid, gid, S_IFLNK | 0o777, []);
      const h: FileHeader = {
        uid: m.uid,
        gid: m.gid,
        mode: m.mode,
        symlinkTarget: entry.linkpath ?? "",
        xattrs: [],
      };
      if (!h.symlinkTarget) throw new ArborError("BAD_NAME", `Symlink "${entry.path}" has an empty target`);
      const stored = imp.sink.content(h, new Uint8Array(0));
      byPath.set(rel, stored);
      dir.replaceFile(name, await stored);
      imp.progress(0);
      return;
    }
    if (type === "File" || type === "OldFile" || type === "ContiguousFile") {
      const stored = (async () => {
        const chunks: Buffer[] = [];
        for await (const c of entry as AsyncIterable<Buffer>) chunks.push(c);
        const data = Buffer.concat(chunks);
        const m = imp.modify(rel, uid, gid, S_IFREG | perm, []);
        const h: FileHeader = { uid: m.uid, gid: m.gid, mode: m.mode, symlinkTarget: "", xattrs: [] };
        const cs = await imp.sink.content(h, data);
        imp.progress(data.length);
        return cs;
      })();
      byPath.set(rel, stored);
      dir.replaceFile(name, await stored);
      return;
    }
    entry.resume();
    throw new ArborError(
      "UNSUPPORTED",
      `Cannot import "${entry.path}" from archive: unsupported entry type ${type}`,
    );
  };
  parser.on("entry", (entry: ReadEntry) => {
    if (failure) {
      entry.resume();
      return;
    }
    // entries arrive one at a time and their data must be consumed in order
    const p = handle(entry).catch((e) => {
      failure ??= e;
    });
    pending.push(p);
  });
  const src = await openArchive(path);
  await new Promise<void>((resolve, reject) => {
    parser.on("error", reject);
    src.on("error", reject);
    parser.on("end", () => resolve());
    src.pipe(parser);
  }).catch((e) => {
    throw withContext(`Cannot import archive "${path}"`, e);
  });
  await Promise.all(pending);
  if (failure) throw withContext(`Cannot import archive "${path}"`, failure);
}
