/**
 * readMetadataMany (repo/read-metadata-many.ts): many metadata objects read in one trip, each with
 * the outcome readMetadataMaybe gives it: bytes, null when absent here and in the parent, the
 * parent's copy, and the same errors.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeDirtree } from "../../../src/core/metadata.js";
import { readMetadataMany } from "../../../src/repo/read-metadata-many.js";
import { Repo } from "../../../src/repo/repo.js";
import { putLooseMetadata } from "./_fsck-prune-fixtures.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-rmm-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tree = (name: string) => encodeDirtree({ files: [{ name, checksum: "ab".repeat(32) }], dirs: [] });

describe("readMetadataMany", () => {
  it("gives each object's bytes, the parent's copy, or null, in order, as readMetadataMaybe does", async () => {
    const parent = Repo.create(join(dir, "parent"), { mode: "archive" });
    const child = Repo.create(join(dir, "child"), { mode: "bare-user" });
    child.config.set("core", "parent", parent.path);
    const here = putLooseMetadata(child, "dirtree", tree("here"));
    const there = putLooseMetadata(parent, "dirtree", tree("there"));
    const absent = "cd".repeat(32);
    const got = await readMetadataMany(child, "dirtree", [here, there, absent, here]);
    const want = [here, there, absent, here].map((cs) => child.readMetadataMaybe("dirtree", cs));
    expect(got.map((b) => (b ? Buffer.from(b).toString("hex") : null))).toEqual(
      want.map((b) => (b ? Buffer.from(b).toString("hex") : null)),
    );
    expect(got[2]).toBe(null);
    expect(Buffer.from(got[1]!).equals(Buffer.from(tree("there")))).toBe(true);
    expect(await readMetadataMany(child, "dirtree", [])).toEqual([]);
  });

  it("refuses what readMetadataMaybe refuses: a bad checksum, a type that is not metadata, an unreadable object", async () => {
    const repo = Repo.create(join(dir, "r"), { mode: "archive" });
    await expect(readMetadataMany(repo, "dirtree", ["nope"])).rejects.toMatchObject({ code: "BAD_CHECKSUM" });
    await expect(readMetadataMany(repo, "file", ["ab".repeat(32)])).rejects.toMatchObject({ code: "USAGE" });
    // a directory where the object should be: an error naming it, not "absent"
    const cs = putLooseMetadata(repo, "dirtree", tree("x"));
    rmSync(repo.objectPath(cs, "dirtree"));
    mkdirSync(repo.objectPath(cs, "dirtree"));
    await expect(readMetadataMany(repo, "dirtree", [cs])).rejects.toThrow(cs);
    await expect(readMetadataMany(repo, "dirtree", [cs])).rejects.toMatchObject({ code: "OBJECT_CORRUPT" });
  });
});
