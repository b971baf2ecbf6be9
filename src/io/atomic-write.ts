/**
 * Atomic file replacement: after a crash at any moment, `path` holds either its old contents or
 * the complete new contents, never a mix or a truncated file.
 *
 * Why the steps are in this order:
 *  1. write to a temporary name in the *same directory* (rename is only atomic within a filesystem);
 *  2. fsync the temporary file, so its data is on disk before any name points to it — otherwise a
 *     crash after the rename can leave the final name pointing at an empty or partial file
 *     (ext4 with delalloc, xfs);
 *  3. rename over the final name (atomic replacement);
 *  4. fsync the directory, so the rename itself survives a crash.
 *
 * Temporary names are `.<name>.tmp-<random>`: hidden, and never a valid ref name or object name,
 * so a crash that leaves one behind cannot be mistaken for real data ({@link isAtomicTempName}
 * lets cleanup code recognise them).
 *
 * Fault points: `atomic-write.before-rename`, `atomic-write.after-rename`.
 */

import type * as fspTypes from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { fromSystemError } from "../errors.js";
import { faultPoint, fsyncPath, fsyncPathSync } from "./fs.js";
import { crypto, fs } from "./node-builtins.js";

/** Options for {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** Exact permission bits of the new file (umask not applied). Default: 0o666 & ~umask. */
  mode?: number;
  /** fsync the file and its directory (default true). False trades durability for speed. */
  fsync?: boolean;
}

const TEMP_RE = /^\..+\.tmp-[0-9a-f]{12}$/;

/** True if `name` (a basename) looks like a temporary file left by an interrupted atomic write. */
export function isAtomicTempName(name: string): boolean {
  return TEMP_RE.test(name);
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${crypto().randomBytes(6).toString("hex")}`);
}

/**
 * Atomically replace (or create) `path` with `data`; see the module comment for the guarantees.
 * The directory must exist. On failure the temporary file is removed and `path` is untouched.
 * @example await writeFileAtomic(join(repo, "refs/heads/main"), `${checksum}\n`, { mode: 0o644 });
 * @throws ArborError `NOT_FOUND` (directory missing), `NO_SPACE`, `IO`.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  const { mode, fsync = true } = options;
  const tmp = tempPathFor(path);
  let fh: fspTypes.FileHandle | undefined;
  let created = false;
  try {
    fh = await fs.promises.open(tmp, "wx", mode ?? 0o666);
    created = true;
    if (mode !== undefined) await fh.chmod(mode);
    await fh.writeFile(data);
    if (fsync) await fh.sync();
    await fh.close();
    fh = undefined;
    faultPoint("atomic-write.before-rename");
    await fs.promises.rename(tmp, path);
    created = false;
    faultPoint("atomic-write.after-rename");
  } catch (e) {
    await fh?.close().catch(() => {});
    if (created) await fs.promises.unlink(tmp).catch(() => {});
    throw fromSystemError(`Cannot write "${path}"`, e);
  }
  if (fsync) await fsyncDir(dirname(path));
}

/**
 * Synchronous {@link writeFileAtomic}, for small files in code that is synchronous anyway.
 * @throws ArborError `NOT_FOUND`, `NO_SPACE`, `IO`.
 */
export function writeFileAtomicSync(
  path: string,
  data: Uint8Array | string,
  options: WriteFileAtomicOptions = {},
): void {
  const { mode, fsync = true } = options;
  const tmp = tempPathFor(path);
  let fd: number | undefined;
  let created = false;
  try {
    fd = fs.openSync(tmp, "wx", mode ?? 0o666);
    created = true;
    if (mode !== undefined) fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, data);
    if (fsync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    faultPoint("atomic-write.before-rename");
    fs.renameSync(tmp, path);
    created = false;
    faultPoint("atomic-write.after-rename");
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {}
    }
    if (created) {
      try {
        fs.unlinkSync(tmp);
      } catch {}
    }
    throw fromSystemError(`Cannot write "${path}"`, e);
  }
  if (fsync) fsyncPathSync(dirname(path));
}

/**
 * fsync the directory `path`, making renames, creations and unlinks of its entries durable.
 * @throws ArborError `NOT_FOUND`, `IO`.
 */
export async function fsyncDir(path: string): Promise<void> {
  await fsyncPath(path);
}
