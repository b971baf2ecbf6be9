/**
 * Importing a directory from the filesystem (`commit --tree=dir=PATH`, `commit PATH`) into a
 * MutableTree, as ostree's commit walks one.
 *
 * With a (device, inode) cache (`--link-checkout-speedup`, see devino-cache.ts), a non-directory
 * that is a hardlink of a content object is recorded as that object without being read or hashed,
 * as ostree does:
 *  - its metadata is taken from the object where ostree takes it: from `user.ostreemeta` in a
 *    bare-user repository (so a `checkout -U -H` tree commits with the owners it was committed
 *    with), from the inode (which is the object's) otherwise;
 *  - the object is used only if the modifiers (`--owner-uid`/`--owner-gid`, `--statoverride`,
 *    `--mode-ro-executables`, canonical permissions) leave that metadata as it is and xattrs are
 *    recorded (`--no-xattrs`, `--canonical-permissions` and bare-user-only repositories never use
 *    it); otherwise the file is stored from its data with the modified metadata;
 *  - the data is not looked at: a hardlink modified in place (which modifies the object too) is
 *    recorded under the object's old checksum, exactly as `ostree commit` records it (`fsck`
 *    then reports the object as corrupt);
 *  - `--devino-canonical`: any hit is taken as is, before the modifiers and the skip list are
 *    applied (ostree's early return).
 */
import { closeSync, type Dirent, lstatSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { join } from "node:path";
import type { FileHeader, Xattrs } from "../core/content-header.js";
import { isLnk, S_IFLNK, S_IFREG } from "../core/mode.js";
import { isValidFilename } from "../core/validate.js";
import { ArborError, fromSystemError, withContext } from "../errors.js";
import { hashedReader } from "../io/hashed-read.js";
import { native } from "../io/native.js";
import { prefixFor } from "./content-fast.js";
import type { Importer } from "./importer.js";
import type { MutableTree } from "./mutable-tree.js";
import { statFileObject } from "./read-object.js";
import { STREAM_THRESHOLD } from "./transaction.js";

/** The xattrs of a file on disk as ostree records them (sorted; empty values dropped). */
export function readXattrsOf(path: string): Xattrs {
  let names: string[];
  try {
    names = native().llistxattr(path);
  } catch (e) {
    const c = (e as { code?: string }).code;
    if (c === "ENOTSUP" || c === "EOPNOTSUPP") return [];
    throw e;
  }
  if (!names.length) return [];
  const out: Xattrs = [];
  for (const n of names.sort()) {
    const v = native().lgetxattr(path, n);
    // ostree drops xattrs with an empty value (when checksumming and committing)
    if (v && v.length > 0) out.push([n, new Uint8Array(v)]);
  }
  return out;
}

async function* readChunks(path: string, size: number): AsyncGenerator<Uint8Array> {
  const { open } = await import("node:fs/promises");
  const fh = await open(path, "r");
  try {
    let pos = 0;
    while (pos < size) {
      const buf = Buffer.allocUnsafe(Math.min(4 << 20, size - pos));
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) throw new ArborError("IO", `File "${path}" shrank while being committed`);
      pos += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

function readWhole(path: string, size: number): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, buf, off, size - off, off);
      if (n === 0) throw new ArborError("IO", `File "${path}" shrank while being committed`);
      off += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** Import a directory from the filesystem into `tree` (merging with what is there). */
export async function importDirectory(imp: Importer, srcRoot: string, tree: MutableTree): Promise<void> {
  const useXattrs =
    !imp.mods.noXattrs && !imp.mods.canonicalPermissions && imp.repo.mode !== "bare-user-only";
  let rootSt: import("node:fs").Stats;
  try {
    rootSt = lstatSync(srcRoot);
  } catch (e) {
    throw fromSystemError(`Cannot commit "${srcRoot}"`, e);
  }
  if (!rootSt.isDirectory()) throw new ArborError("USAGE", `Cannot commit "${srcRoot}": not a directory`);
  // files read and hashed on the thread pool, in batches, where the addon can
  const hashedRead = hashedReader();
  const walk = async (
    abs: string,
    rel: string,
    dir: MutableTree,
    st: import("node:fs").Stats,
  ): Promise<void> => {
    const m = imp.modify(rel || "/", st.uid, st.gid, st.mode, useXattrs ? readXattrsOf(abs) : []);
    dir.meta = imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
    let entries: Dirent[];
    try {
      entries = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      throw fromSystemError(`Cannot read directory "${abs}"`, e);
    }
    for (const ent of entries) {
      const name = ent.name;
      if (name.includes("\uFFFD")) {
        // readdir decoded invalid UTF-8 bytes to U+FFFD; ostree's wording
        throw new ArborError("BAD_NAME", `Cannot commit "${abs}": Invalid UTF-8 in filename ${name}`);
      }
      if (!isValidFilename(name)) {
        throw new ArborError("BAD_NAME", `Cannot commit "${join(abs, name)}": invalid file name`);
      }
      const childRel = `${rel}/${name}`;
      // --devino-canonical takes a hardlinked object before the skip list is consulted (as
      // ostree's commit filter), so such an entry leaves its skip-list path unmatched
      const skipped = imp.mods.skipList?.has(childRel) === true;
      if (skipped && !imp.devinoCanonical && imp.skips(childRel)) continue;
      const childAbs = join(abs, name);
      const cst = lstatSync(childAbs);
      if (cst.isDirectory()) {
        if (!(skipped && imp.skips(childRel))) await walk(childAbs, childRel, dir.ensureDir(name), cst);
        continue;
      }
      const hit = imp.devino?.lookup(childAbs, cst);
      if (hit && imp.devinoCanonical) {
        imp.takeHit(dir, name, hit.checksum, cst.isFile() ? cst.size : 0);
        continue;
      }
      if (skipped && imp.skips(childRel)) continue;
      let isLink = cst.isSymbolicLink();
      if (!isLink && !cst.isFile()) {
        throw new ArborError(
          "UNSUPPORTED",
          `Cannot commit "${childAbs}": not a regular file, symlink or directory`,
        );
      }
      // what the file is before the modifiers: the object's metadata for a bare-user hardlink
      let uid = cst.uid;
      let gid = cst.gid;
      let mode = isLink ? S_IFLNK | 0o777 : (cst.mode & 0o7777) | S_IFREG;
      let symlinkTarget: string | null = null;
      let objXattrs: Xattrs | null = null;
      if (hit && imp.repo.mode === "bare-user") {
        let h: FileHeader;
        try {
          h = statFileObject(hit.repo, hit.checksum).header;
        } catch (e) {
          throw withContext(`Cannot commit "${childAbs}"`, e);
        }
        ({ uid, gid, mode } = h);
        isLink = isLnk(mode);
        symlinkTarget = h.symlinkTarget;
        objXattrs = h.xattrs;
      }
      if (hit && useXattrs) {
        const km = imp.modify(childRel, uid, gid, mode, []);
        if (km.uid === uid && km.gid === gid && km.mode === mode) {
          imp.takeHit(dir, name, hit.checksum, isLink ? 0 : cst.size);
          continue;
        }
      }
      const fm = imp.modify(childRel, uid, gid, mode, useXattrs ? (objXattrs ?? readXattrsOf(childAbs)) : []);
      const header: FileHeader = {
        uid: fm.uid,
        gid: fm.gid,
        mode: fm.mode,
        symlinkTarget: isLink ? (symlinkTarget ?? readlinkSync(childAbs)) : "",
        xattrs: fm.xattrs,
      };
      const size = isLink ? 0 : cst.size;
      const readHashed = size < STREAM_THRESHOLD ? hashedRead : null;
      await imp.pool.run(async () => {
        let cs: string;
        try {
          const adopted = !isLink && imp.sink.adopt ? await imp.sink.adopt(header, childAbs, size) : null;
          if (adopted !== null) cs = adopted;
          else if (isLink) cs = await imp.sink.content(header, new Uint8Array(0));
          else if (size >= STREAM_THRESHOLD)
            cs = await imp.sink.stream(header, size, readChunks(childAbs, size));
          else if (readHashed) {
            const [data, digest] = await readHashed(childAbs, prefixFor(header));
            if (data.length !== size)
              throw new ArborError("IO", `File "${childAbs}" changed size while being committed`);
            cs = await imp.sink.content(header, data, digest);
          } else cs = await imp.sink.content(header, readWhole(childAbs, size));
        } catch (e) {
          throw withContext(`Cannot commit "${childAbs}"`, e);
        }
        dir.replaceFile(name, cs);
        imp.progress(size);
      });
    }
  };
  await walk(srcRoot, "", tree, rootSt);
  await imp.pool.drain();
}
