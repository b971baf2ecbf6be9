import { describe, expect, it } from "vitest";
import { canonicalMode, formatMode, isValidContentMode, isValidDirMode } from "../../../src/core/mode.js";
import { objectRelPath } from "../../../src/core/object-path.js";
import { objectTypeFromEnum, parseObjectType } from "../../../src/core/object-type.js";

describe("modes", () => {
  it("formats as ostree ls does", () => {
    expect(formatMode(0o100644)).toBe("-00644");
    expect(formatMode(0o40755)).toBe("d00755");
    expect(formatMode(0o120777)).toBe("l00777");
    expect(formatMode(0o104755)).toBe("-04755");
  });

  it("accepts only regular files and symlinks as content, directories as dirmeta", () => {
    expect(isValidContentMode(0o100644)).toBe(true);
    expect(isValidContentMode(0o120777)).toBe(true);
    expect(isValidContentMode(0o107777)).toBe(true);
    for (const m of [0o40755, 0o20644, 0o60644, 0o10644, 0o140755, 0o644, 0o1100644]) {
      expect(isValidContentMode(m), m.toString(8)).toBe(false);
    }
    expect(isValidDirMode(0o41777)).toBe(true);
    for (const m of [0o100755, 0o755, 0o1040755]) expect(isValidDirMode(m), m.toString(8)).toBe(false);
  });

  it("canonicalizes permissions to 0755 bits, symlinks to 0777", () => {
    expect(canonicalMode(0o104777)).toBe(0o100755);
    expect(canonicalMode(0o100600)).toBe(0o100600);
    expect(canonicalMode(0o120777)).toBe(0o120777);
  });
});

describe("object types and paths", () => {
  it("maps enum values and extensions", () => {
    expect(objectTypeFromEnum(4)).toBe("commit");
    expect(() => objectTypeFromEnum(10)).toThrow(expect.objectContaining({ code: "OBJECT_CORRUPT" }));
    expect(parseObjectType("dirtree")).toBe("dirtree");
    expect(() => parseObjectType("blob")).toThrow(expect.objectContaining({ code: "USAGE" }));
    const cs = `3f2a${"0".repeat(60)}`;
    expect(objectRelPath(cs, "file", true)).toBe(`objects/3f/2a${"0".repeat(60)}.filez`);
    expect(objectRelPath(cs, "file", false)).toBe(`objects/3f/2a${"0".repeat(60)}.file`);
    expect(objectRelPath(cs, "tombstone-commit", false)).toBe(
      `objects/3f/2a${"0".repeat(60)}.tombstone-commit`,
    );
  });
});
