/**
 * Varints of static delta operations (fact sheet §6.3): the LEB128 codec of core/varint.ts, with
 * errors worded for deltas.
 */
import { type Cursor, readVarint as readCoreVarint } from "../core/varint.js";

export { type Cursor, encodeVarint } from "../core/varint.js";

/**
 * Read one varint at `c.pos` and advance.
 * @throws ArborError OBJECT_CORRUPT on a truncated or oversized varint.
 */
export function readVarint(c: Cursor): number {
  return readCoreVarint(c, "Invalid static delta", " in operations");
}
