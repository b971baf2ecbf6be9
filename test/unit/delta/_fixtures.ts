/** Shared fixtures of the delta tests. */
import { encodeCommit } from "../../../src/core/metadata.js";

/** A small serialized commit with fixed fields (its tree and dirmeta need not exist). */
export function sampleCommit(): Uint8Array {
  return encodeCommit({
    metadata: [],
    parent: null,
    related: [],
    subject: "s",
    body: "",
    timestamp: 1700000000,
    rootTree: "1".repeat(64),
    rootMeta: "2".repeat(64),
  });
}
