import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumFromBytes, checksumToBytes, compareNames, sha256Hex } from "../../../src/core/checksum.js";
import { isArborError } from "../../../src/errors.js";
import { codePoint } from "../gvariant/_arb.js";

describe("checksum helpers", () => {
  it("hashes with SHA-256 and converts hex <-> raw", () => {
    expect(sha256Hex(new Uint8Array([0]))).toBe(
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    );
    const hex = "0123456789abcdef".repeat(4);
    expect(checksumFromBytes(checksumToBytes(hex))).toBe(hex);
    for (const n of [0, 31, 33]) {
      let err: unknown;
      try {
        checksumFromBytes(new Uint8Array(n));
      } catch (e) {
        err = e;
      }
      expect(isArborError(err, "OBJECT_CORRUPT"), `${n} bytes`).toBe(true);
    }
  });

  it("compareNames orders like strcmp over UTF-8 bytes", () => {
    expect(compareNames("B", "a")).toBeLessThan(0);
    expect(compareNames("a", "ab")).toBeLessThan(0);
    expect(compareNames("\uffff", "\u{10000}")).toBeLessThan(0); // UTF-16 order would say the opposite
    fc.assert(
      fc.property(
        fc.array(codePoint, { maxLength: 6 }).map((c) => c.join("")),
        fc.array(codePoint, { maxLength: 6 }).map((c) => c.join("")),
        (a, b) => {
          expect(Math.sign(compareNames(a, b))).toBe(
            Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
