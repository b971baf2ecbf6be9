/**
 * Loose object paths: `objects/XX/REST.EXT` where XX are the first two hex characters
 * (fact sheet §3.3). Content objects are `.filez` in archive repos and `.file` elsewhere.
 */
import type { ObjectType } from "./object-type.js";

/** Extension of a loose object of `type` in a repo of the given archive-ness. */
export function objectExtension(type: ObjectType, archive: boolean): string {
  return type === "file" ? (archive ? "filez" : "file") : type;
}

/** Path of a loose object relative to the repo root, e.g. `objects/3f/2a…e9.commit`. */
export function objectRelPath(checksum: string, type: ObjectType, archive: boolean): string {
  return `objects/${checksum.slice(0, 2)}/${checksum.slice(2)}.${objectExtension(type, archive)}`;
}
