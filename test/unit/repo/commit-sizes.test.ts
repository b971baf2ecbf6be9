import { describe, expect, it } from "vitest";
import { Variant } from "../../../src/gvariant/serialize.js";
import { decodeSizes, encodeSizes, type SizesEntry } from "../../../src/repo/commit-sizes.js";

const A = "a".repeat(64);
const B = "0b".repeat(32);

describe("ostree.sizes codec", () => {
  it("encodeSizes() sorts by checksum and writes csum, two LEB128 varints and the type byte", () => {
    const entries: SizesEntry[] = [
      { checksum: A, type: "dirtree", archived: 142, unpacked: 142 },
      { checksum: B, type: "file", archived: 42, unpacked: 300 },
    ];
    const v = encodeSizes(entries);
    expect(v.type).toBe("aay");
    const [first, second] = v.value as Uint8Array[];
    expect(Buffer.from(first!.subarray(0, 32)).toString("hex")).toBe(B);
    expect([...first!.subarray(32)]).toEqual([42, 0xac, 0x02, 1]);
    expect([...second!.subarray(32)]).toEqual([0x8e, 0x01, 0x8e, 0x01, 2]);
    expect(decodeSizes(v)).toEqual([entries[1], entries[0]]);
  });

  it("decodeSizes() reads an entry without a type byte as a content object", () => {
    const b = Uint8Array.from([...Buffer.from(A, "hex"), 5, 3]);
    expect(decodeSizes(new Variant("aay", [b]))).toEqual([
      { checksum: A, type: "file", archived: 5, unpacked: 3 },
    ]);
  });

  it("decodeSizes() rejects short entries, truncated varints, bad types, trailing bytes and other types", () => {
    const cs = [...Buffer.from(A, "hex")];
    const bad = (b: number[]) => () => decodeSizes(new Variant("aay", [Uint8Array.from(b)]));
    expect(bad(cs.slice(0, 20))).toThrow(/too short/);
    expect(bad([...cs, 0x80, 0x80])).toThrow(/varint/);
    expect(bad([...cs, 1, 1, 4])).toThrow(/unexpected object type 4/);
    expect(bad([...cs, 1, 1, 1, 0])).toThrow(/trailing bytes/);
    expect(() => decodeSizes(new Variant("as", ["x"]))).toThrow(/expected aay/);
  });
});
