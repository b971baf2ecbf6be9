/**
 * Reading many metadata objects at once: with the addon, one thread-pool trip (`readFiles`) opens,
 * sizes and reads them all, so the main thread makes no open/fstat/read/close per object (an
 * update pull walks the ~700 dirtrees of a Debian tree it already holds: ~0.1 s of main-thread
 * system calls read one by one). Without the addon, or for what the trip could not settle (an
 * object only in the parent repository, one over the trip's size limit), each is read as
 * {@link Repo.readMetadataMaybe} reads it, with the same errors.
 */
import { isMetadataType, type ObjectType } from "../core/object-type.js";
import { validateChecksum } from "../core/validate.js";
import { errnoCode } from "../errors.js";
import { hasNative, native } from "../io/native.js";
import type { Repo } from "./repo.js";

/** Largest object read in the pool trip; a bigger one (rare, up to MAX_METADATA_SIZE) is read alone. */
const TRIP_LIMIT = 64 * 1024 * 1024;

/**
 * The bytes of each metadata object named, in order; null for one the repository (and its parent)
 * does not have.
 * @throws ArborError OBJECT_CORRUPT (too large), IO, BAD_CHECKSUM, USAGE, as readMetadataMaybe
 */
export async function readMetadataMany(
  repo: Repo,
  type: ObjectType,
  checksums: readonly string[],
): Promise<Array<Uint8Array | null>> {
  const addon = hasNative() ? native() : null;
  // (a type that is not metadata: readMetadataMaybe refuses it)
  if (!addon?.readFiles || checksums.length === 0 || !isMetadataType(type))
    return checksums.map((cs) => repo.readMetadataMaybe(type, cs));
  for (const cs of checksums) validateChecksum(cs);
  const got = await addon.readFiles(
    checksums.map((cs) => repo.objectPath(cs, type)),
    TRIP_LIMIT,
  );
  return got.map((r, i) => {
    if (r instanceof Uint8Array) return r;
    // too big for the trip, absent here (maybe in the parent), or an error: read it the usual way,
    // which gives each case its usual outcome and error
    if (r instanceof Error && errnoCode(r) === "ENOENT" && !repo.parent) return null;
    return repo.readMetadataMaybe(type, checksums[i]!);
  });
}
