/**
 * The last step of a {@link Transaction} commit: make the staged objects durable, then move them
 * into `objects/` in groups (each group's renames made durable before the next group starts), so
 * that a crash never leaves a commit whose objects are missing (transaction.ts).
 */
import { closeSync, mkdirSync, openSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import type { ObjectType } from "../core/object-type.js";
import { errnoCode } from "../errors.js";
import { faultPoint, fsyncPathSync } from "../io/fs.js";
import { hasNative, type NativeAddon, native } from "../io/native.js";
import { fsyncPathOffThread, renameOffThread } from "../io/off-thread.js";
import { mapLimit } from "../io/pool.js";
import type { Repo } from "./repo.js";

/** Renames and directory fsyncs in flight while publishing (libuv has 4 threads; more only queue). */
const PUBLISH_CONCURRENCY = 8;

/** A staged object: its type and its path relative to the repository (`objects/XX/REST.type`). */
export interface Staged {
  type: ObjectType;
  rel: string;
}

/**
 * Make every staged file durable (one syncfs of the staging dir's filesystem, or an fsync per file
 * where syncfs is missing). Nothing to do when the repository's `core.fsync` is false.
 * @throws Node system errors; ArborError IO (an fsync that failed).
 */
export function syncStaged(repo: Repo, stagingDir: string, stagedPaths: () => Iterable<string>): void {
  if (!repo.config.getBool("core", "fsync", true)) return;
  const fd = openSync(stagingDir, "r");
  try {
    native().syncfs(fd);
  } catch {
    // no syncfs: fsync each staged file
    for (const p of stagedPaths()) fsyncPathSync(p);
  } finally {
    closeSync(fd);
  }
}

/**
 * Rename a group of staged objects (`stagePath` says where each one is) into `objects/`, several
 * at a time off the main thread, then fsync every directory that gained a name (16 per trip, four
 * trips at once), before the caller starts the next group.
 * @throws Node system errors; ArborError IO (an fsync that failed).
 */
export async function publishStaged(
  repo: Repo,
  items: Staged[],
  stagePath: (rel: string) => string,
): Promise<void> {
  if (!items.length) return;
  const dirs = new Set<string>();
  let newDir = false;
  for (const s of items) {
    const dir = s.rel.slice(0, "objects/XX".length);
    if (dirs.has(dir)) continue;
    try {
      mkdirSync(join(repo.path, dir), { mode: 0o775 });
      newDir = true;
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw e;
    }
    dirs.add(dir);
  }
  const renameMany = addonFunction("renameFiles");
  if (renameMany) {
    // one thread-pool trip per group (renames out of one staging directory queue on its lock in
    // the kernel anyway: more in flight would only wake more threads)
    await inGroups(items, RENAMES_PER_TRIP, 2, async (group) => {
      const pairs: Array<[string, string]> = [];
      for (const s of group) {
        faultPoint("publish-object");
        pairs.push([stagePath(s.rel), join(repo.path, s.rel)]);
      }
      const outcomes = await renameMany(pairs);
      if (!outcomes.some((e) => e)) for (const s of group) if (s.type === "commit") dropTombstone(repo, s);
      return outcomes;
    });
  } else {
    await mapLimit(items, PUBLISH_CONCURRENCY, async (s) => {
      faultPoint("publish-object");
      await renameOffThread(stagePath(s.rel), join(repo.path, s.rel));
      if (s.type === "commit") dropTombstone(repo, s);
    });
  }
  if (!repo.config.getBool("core", "fsync", true)) return;
  const fsyncMany = addonFunction("fsyncPaths");
  const paths = [...dirs].map((d) => join(repo.path, d));
  // a few directories per trip, a few trips at once: the disk writes still overlap
  if (fsyncMany) await inGroups(paths, FSYNCS_PER_TRIP, 4, fsyncMany);
  else await mapLimit(paths, PUBLISH_CONCURRENCY, (p) => fsyncPathOffThread(p));
  if (newDir) fsyncPathSync(join(repo.path, "objects"));
}

/** Renames per trip to the thread pool through the addon's `renameFiles`. */
const RENAMES_PER_TRIP = 256;

/** Directory fsyncs per trip to the thread pool through the addon's `fsyncPaths`. */
const FSYNCS_PER_TRIP = 16;

/** The addon's function `name`, or null without the addon (or with one built before it). */
function addonFunction<K extends "renameFiles" | "fsyncPaths">(name: K): NonNullable<NativeAddon[K]> | null {
  if (!hasNative()) return null;
  const n = native();
  const f = n[name];
  return f ? (f.bind(n) as NonNullable<NativeAddon[K]>) : null;
}

/**
 * `batch` over `items` in groups of `size`, `inFlight` groups at once (each one thread-pool
 * trip); throws the first error a group reports.
 */
async function inGroups<T>(
  items: readonly T[],
  size: number,
  inFlight: number,
  batch: (group: T[]) => Promise<Array<Error | undefined>>,
): Promise<void> {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  await mapLimit(groups, inFlight, async (group) => {
    const failed = (await batch(group)).find((e) => e !== undefined);
    if (failed) throw failed;
  });
}

/**
 * A commit written again (pulled back after `prune --delete-commit`) is no longer deleted: drop
 * its tombstone, as ostree does (made durable by the directory fsync that follows the renames).
 */
function dropTombstone(repo: Repo, s: Staged): void {
  removeIfPresent(join(repo.path, s.rel.replace(/\.commit$/, ".tombstone-commit")));
}

function removeIfPresent(p: string): void {
  try {
    unlinkSync(p);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
}
