/** Stored static deltas: listing, deleting (as `ostree static-delta delete`), hostile names. */
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deltaDir, deltaName } from "../../../src/repo/delta-naming.js";
import { deleteDelta, listDeltas, parseDeltaArg } from "../../../src/repo/delta-store.js";
import { Repo } from "../../../src/repo/repo.js";

const A = "ab".repeat(32);
const B = "cd".repeat(32);
let dir: string;
let repo: Repo;

beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "arbor-delta-store-")));
  repo = Repo.create(join(dir, "repo"), { mode: "archive" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function mkDelta(from: string | null, to: string, files = ["superblock", "0"]): string {
  const d = join(repo.path, deltaDir({ from, to }));
  mkdirSync(d, { recursive: true });
  for (const f of files) writeFileSync(join(d, f), "x");
  return d;
}

describe("stored deltas", () => {
  it("listDeltas() names well-formed directories only", () => {
    mkDelta(null, A);
    mkDelta(A, B);
    mkdirSync(join(repo.path, "deltas", "zz", "not-a-delta"), { recursive: true });
    mkdirSync(join(repo.path, "deltas", "toolong", "x"), { recursive: true });
    expect(listDeltas(repo, { sorted: true }).map(deltaName)).toEqual([A, `${A}-${B}`]);
  });

  it("deleteDelta() removes one delta and keeps the others", () => {
    const scratch = mkDelta(null, A);
    const ft = mkDelta(A, B);
    deleteDelta(repo, parseDeltaArg(`${A}-${B}`));
    expect(existsSync(ft)).toBe(false);
    expect(existsSync(scratch)).toBe(true);
  });

  it("deleteDelta() removes an empty delta directory, as ostree", () => {
    const empty = mkDelta(null, B, []);
    deleteDelta(repo, parseDeltaArg(B));
    expect(existsSync(empty)).toBe(false);
  });

  it("deleteDelta() of a delta that is not there: Can't find delta", () => {
    expect(() => deleteDelta(repo, parseDeltaArg(A))).toThrow(`Can't find delta ${A}`);
  });

  it("parseDeltaArg() refuses anything but hex TO or FROM-TO (no path can be named)", () => {
    for (const bad of ["foo", `../${A}`, `${A}/..`, `${A}-`, `-${A}`, `${A}-${B}-${A}`, A.toUpperCase()])
      expect(() => parseDeltaArg(bad)).toThrow(`Invalid rev ${bad}`);
  });
});
