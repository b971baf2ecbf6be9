/**
 * Staging dirs `tmp/staging-<bootid>-XXXXXX`, where a Transaction writes objects before they are
 * published, managed as ostree manages them so both tools can share a repository:
 *  - a dir is claimed by an exclusive OFD lock on `tmp/staging-<bootid>-XXXXXX-lock`, held for the
 *    whole transaction; a dir whose lock is held is never touched by anyone else;
 *  - an unclaimed dir of the current boot (left by a failed or killed transaction) is reused by
 *    the next transaction, as ostree does, but emptied first: its objects were never verified;
 *  - unclaimed dirs of other boots are deleted when a transaction starts.
 * `OSTREE_BOOTID` overrides the boot id (ostree's test hook).
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { acquireLock, type LockHandle } from "../io/lock.js";
import type { Repo } from "./repo.js";

let bootId: string | undefined;
/**
 * The boot id as ostree spells it in staging dir names (a UUID); `$OSTREE_BOOTID` if set.
 * @throws ArborError USAGE when `$OSTREE_BOOTID` holds anything but letters, digits and `-` (it
 *   becomes part of a file name under tmp/).
 */
export function getBootId(): string {
  const override = process.env.OSTREE_BOOTID;
  if (override) {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(override))
      throw new ArborError(
        "USAGE",
        `Invalid OSTREE_BOOTID "${override.slice(0, 80)}": only letters, digits and '-' (at most 64)`,
      );
    return override;
  }
  if (bootId === undefined) {
    try {
      bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      bootId = "noboot";
    }
  }
  return bootId;
}

const NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
function randomSuffix(): string {
  return Array.from(randomBytes(6), (b) => NAME_CHARS[b % NAME_CHARS.length]).join("");
}

/** Staging dir names under `tmp/` (not their `-lock` files). */
function stagingDirs(tmp: string): string[] {
  try {
    return readdirSync(tmp).filter((n) => n.startsWith("staging-") && !n.endsWith("-lock"));
  } catch {
    return [];
  }
}

/** Lock `dir` if no one holds it; null when it is claimed by a live transaction. */
async function tryClaim(dir: string): Promise<LockHandle | null> {
  try {
    return await acquireLock(`${dir}-lock`, "exclusive", { timeoutMs: 0, unlinkOnRelease: true });
  } catch (e) {
    if (e instanceof ArborError && (e.code === "LOCKED" || e.code === "NOT_FOUND")) return null;
    throw e;
  }
}

/** Empty a directory we hold the claim on, keeping the directory itself. */
function emptyDir(dir: string): void {
  for (const n of readdirSync(dir)) rmSync(join(dir, n), { recursive: true, force: true });
}

/**
 * Claim a staging dir for a new transaction: an unclaimed one of this boot (emptied) or a fresh
 * one; then delete unclaimed dirs of other boots.
 * @throws ArborError IO (cannot create the dir), LOCKED (no name could be claimed)
 */
export async function claimStagingDir(repo: Repo): Promise<{ dir: string; lock: LockHandle }> {
  const tmp = join(repo.path, "tmp");
  const prefix = `staging-${getBootId()}-`;
  let claimed: { dir: string; lock: LockHandle } | null = null;
  for (const name of stagingDirs(tmp)) {
    const dir = join(tmp, name);
    if (!name.startsWith(prefix) || claimed) continue;
    const lock = await tryClaim(dir);
    if (!lock) continue;
    if (!existsSync(dir)) {
      lock.release();
      continue;
    }
    emptyDir(dir);
    claimed = { dir, lock };
  }
  claimed ??= await claimNew(tmp, prefix, repo);
  await removeOtherBoots(tmp, prefix);
  return claimed;
}

async function claimNew(tmp: string, prefix: string, repo: Repo): Promise<{ dir: string; lock: LockHandle }> {
  for (let attempt = 0; ; attempt++) {
    const dir = join(tmp, `${prefix}${randomSuffix()}`);
    try {
      mkdirSync(dir, { mode: 0o775 });
    } catch (e) {
      if (errnoCode(e) === "EEXIST" && attempt < 100) continue;
      throw fromSystemError(`Cannot start a transaction in "${repo.path}"`, e);
    }
    const lock = await tryClaim(dir);
    if (!lock) {
      if (attempt < 100) continue;
      throw new ArborError("LOCKED", `Cannot claim a staging directory in "${tmp}"`);
    }
    // another process may have taken and removed it between our mkdir and our lock
    if (existsSync(dir)) return { dir, lock };
    lock.release();
  }
}

/** Delete staging dirs of other boots that no live transaction holds (as ostree's tmp cleanup). */
async function removeOtherBoots(tmp: string, ownPrefix: string): Promise<void> {
  for (const name of stagingDirs(tmp)) {
    if (name.startsWith(ownPrefix)) continue;
    const dir = join(tmp, name);
    const lock = await tryClaim(dir);
    if (!lock) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
    } finally {
      lock.release();
    }
  }
}

/**
 * Remove staging dirs left behind by crashed processes: unclaimed and older than `maxAgeMs`
 * (prune calls this). A dir claimed by a live transaction is never removed.
 * @returns how many were removed.
 */
export async function cleanStaleStaging(repo: Repo, maxAgeMs = 24 * 3600 * 1000): Promise<number> {
  let n = 0;
  const tmp = join(repo.path, "tmp");
  const now = Date.now();
  for (const name of stagingDirs(tmp)) {
    const dir = join(tmp, name);
    try {
      if (now - statSync(dir).mtimeMs <= maxAgeMs) continue;
    } catch {
      continue; // vanished
    }
    const lock = await tryClaim(dir);
    if (!lock) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      n++;
    } finally {
      lock.release();
    }
  }
  return n;
}
