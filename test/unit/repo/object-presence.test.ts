/**
 * ObjectPresence: lookups one by one at first, then from one listing per objects/XX directory.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LIST_AFTER, ObjectPresence } from "../../../src/repo/object-presence.js";

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "arbor-presence-"));
  mkdirSync(join(root, "objects", "ab"), { recursive: true });
  writeFileSync(join(root, "objects", "ab", "cdef.file"), "x");
  symlinkSync("/nonexistent", join(root, "objects", "ab", "dangling.file"));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("ObjectPresence", () => {
  it("asks the per-object lookup for the first lookups, then answers from directory listings", () => {
    const p = new ObjectPresence(root);
    let asked = 0;
    const lookup = () => {
      asked++;
      return false;
    };
    for (let i = 0; i < LIST_AFTER; i++) expect(p.has("objects/ab/cdef.file", lookup)).toBe(false);
    expect(asked).toBe(LIST_AFTER);
    // from now on the listing answers: the file is there, whatever the lookup would say
    expect(p.has("objects/ab/cdef.file", lookup)).toBe(true);
    expect(p.has("objects/ab/dangling.file", lookup)).toBe(true); // a name is an object
    expect(p.has("objects/ab/cdef.dirtree", lookup)).toBe(false);
    expect(p.has("objects/zz/cdef.file", lookup)).toBe(false); // no such directory
    expect(asked).toBe(LIST_AFTER);
  });

  it("a listing is a snapshot; a directory that cannot be listed is asked object by object", () => {
    const p = new ObjectPresence(root);
    for (let i = 0; i < LIST_AFTER; i++) p.has("objects/ab/x.file", () => false);
    expect(p.has("objects/ab/new.file", () => true)).toBe(false);
    writeFileSync(join(root, "objects", "ab", "new.file"), "y");
    expect(p.has("objects/ab/new.file", () => true)).toBe(false);
    // objects/cd is a file, not a directory: listing fails with ENOTDIR
    writeFileSync(join(root, "objects", "cd"), "");
    expect(p.has("objects/cd/abc.file", () => true)).toBe(true);
    expect(p.has("objects/cd/abc.file", () => false)).toBe(false);
  });
});
