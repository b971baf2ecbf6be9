/**
 * Transaction.syncBeforePublish: a file written outside the transaction (a pull's commitpartial
 * marker, written without an fsync of its own) is made durable by the transaction's sync step,
 * before any object is published: it is among the paths the fsync-per-file fallback syncs, with
 * its directory, and the sync runs even when nothing was staged.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type * as PublishStaged from "../../../src/repo/publish-staged.js";
import { Repo } from "../../../src/repo/repo.js";
import { Transaction } from "../../../src/repo/transaction.js";
import { tmp } from "./_fsck-prune-fixtures.js";

/** What each syncStaged call would fsync in its fallback, and what was published by then. */
const syncs: Array<{ paths: string[]; publishedBefore: boolean }> = [];
let watch: (() => boolean) | null = null;

vi.mock("../../../src/repo/publish-staged.js", async (importOriginal) => {
  const real = await importOriginal<typeof PublishStaged>();
  return {
    ...real,
    syncStaged: (repo: Repo, dir: string, paths: () => Iterable<string>) => {
      syncs.push({ paths: [...paths()], publishedBefore: watch?.() ?? false });
      real.syncStaged(repo, dir, paths);
    },
  };
});

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-txsync-");
  syncs.length = 0;
  watch = null;
});
afterEach(() => t.cleanup());

const file = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };

function marker(repo: Repo, name: string): string {
  const p = join(repo.path, "state", `${name}.commitpartial`);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, "");
  return p;
}

describe("Transaction.syncBeforePublish", () => {
  it("syncs the file and its directory with the staged objects, before publishing them", async () => {
    const repo = Repo.create(join(t.dir, "r"), { mode: "bare-user" });
    const m = marker(repo, "a".repeat(64));
    const tx = await Transaction.begin(repo);
    const cs = await tx.writeContent(file, Buffer.from("data\n"));
    tx.syncBeforePublish(m);
    watch = () => repo.hasObject("file", cs);
    await tx.commit();
    expect(repo.hasObject("file", cs)).toBe(true);
    expect(syncs).toHaveLength(1);
    expect(syncs[0]!.publishedBefore).toBe(false);
    expect(syncs[0]!.paths).toEqual(expect.arrayContaining([m, dirname(m)]));
    expect(syncs[0]!.paths.some((p) => p.endsWith(`${cs.slice(2)}.file`))).toBe(true);
  });

  it("syncs it even when the transaction staged nothing", async () => {
    const repo = Repo.create(join(t.dir, "r"), { mode: "bare-user" });
    const m = marker(repo, "b".repeat(64));
    const tx = await Transaction.begin(repo);
    tx.syncBeforePublish(m);
    await tx.commit();
    expect(syncs.map((s) => s.paths)).toEqual([[m, dirname(m)]]);
  });

  it("is refused once the transaction is done", async () => {
    const repo = Repo.create(join(t.dir, "r"), { mode: "bare-user" });
    const tx = await Transaction.begin(repo);
    await tx.commit();
    expect(() => tx.syncBeforePublish(marker(repo, "c".repeat(64)))).toThrow();
  });
});
