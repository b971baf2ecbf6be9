/**
 * OSTree object types (fact sheet §2.1): their enum values and loose-object file extensions.
 */
import { ArborError } from "../errors.js";

export type ObjectType =
  | "file"
  | "dirtree"
  | "dirmeta"
  | "commit"
  | "tombstone-commit"
  | "commitmeta"
  | "payload-link"
  | "file-xattrs"
  | "file-xattrs-link";

/** The `OstreeObjectType` enum values, as used in delta parts, sizes and the GVariant `(sy)`-style names. */
export const OBJECT_TYPE_ENUM: Record<ObjectType, number> = {
  file: 1,
  dirtree: 2,
  dirmeta: 3,
  commit: 4,
  "tombstone-commit": 5,
  commitmeta: 6,
  "payload-link": 7,
  "file-xattrs": 8,
  "file-xattrs-link": 9,
};

const BY_ENUM = new Map<number, ObjectType>(
  Object.entries(OBJECT_TYPE_ENUM).map(([k, v]) => [v, k as ObjectType]),
);

/** @throws ArborError OBJECT_CORRUPT for an unknown enum value. */
export function objectTypeFromEnum(n: number): ObjectType {
  const t = BY_ENUM.get(n);
  if (!t) throw new ArborError("OBJECT_CORRUPT", `Unknown object type ${n}`);
  return t;
}

/** Metadata objects are stored as their raw serialized bytes in every repo mode. */
export function isMetadataType(t: ObjectType): boolean {
  return (
    t === "dirtree" || t === "dirmeta" || t === "commit" || t === "tombstone-commit" || t === "commitmeta"
  );
}

/** Parse an object type name as printed by ostree (`commit`, `dirtree`, …). */
export function parseObjectType(s: string): ObjectType {
  if (s in OBJECT_TYPE_ENUM) return s as ObjectType;
  throw new ArborError("USAGE", `Unknown object type "${s}"`);
}

/** An object's name as ostree prints it: `CHECKSUM.TYPE`. */
export function objectName(checksum: string, type: ObjectType): string {
  return `${checksum}.${type}`;
}
