/** Staging dirs as ostree manages them, and ostree's test hooks OSTREE_BOOTID / OSTREE_REPO_TEST_ERROR. */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { acquireLock } from "../../../src/io/lock.js";
import { FS_IMMUTABLE_FL, native } from "../../../src/io/native.js";
import { Repo } from "../../../src/repo/repo.js";
import { cleanStaleStaging, getBootId } from "../../../src/repo/staging.js";
import { Transaction } from "../../../src/repo/transaction.js";
import { tmp } from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
let repo: Repo;
const saved = { ...process.env };
beforeEach(() => {
  t = tmp("arbor-staging-");
  repo = Repo.create(join(t.dir, "repo"), { mode: "archive" });
});
afterEach(() => {
  process.env.OSTREE_BOOTID = saved.OSTREE_BOOTID;
  process.env.OSTREE_REPO_TEST_ERROR = saved.OSTREE_REPO_TEST_ERROR;
  if (saved.OSTREE_BOOTID === undefined) delete process.env.OSTREE_BOOTID;
  if (saved.OSTREE_REPO_TEST_ERROR === undefined) delete process.env.OSTREE_REPO_TEST_ERROR;
  t.cleanup();
});

const staging = () =>
  readdirSync(join(repo.path, "tmp")).filter((n) => n.startsWith("staging-") && !n.endsWith("-lock"));

async function commitOne(text: string): Promise<void> {
  const tx = await Transaction.begin(repo);
  await tx.writeContent({ uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] }, Buffer.from(text));
  await tx.commit();
}

describe("staging dirs", () => {
  it("OSTREE_BOOTID names the staging dir; pre-commit fails the transaction and leaves it", async () => {
    process.env.OSTREE_BOOTID = "3072029c-8b10-60d1-d31b-8422eeff9b42";
    expect(getBootId()).toBe("3072029c-8b10-60d1-d31b-8422eeff9b42");
    process.env.OSTREE_REPO_TEST_ERROR = "pre-commit";
    await expect(commitOne("a")).rejects.toThrow("OSTREE_REPO_TEST_ERROR_PRE_COMMIT specified");
    const left = staging();
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^staging-3072029c-8b10-60d1-d31b-8422eeff9b42-/);
    expect(repo.hasObject("file", "0".repeat(64))).toBe(false);
    expect(readdirSync(join(repo.path, "objects"))).toEqual([]);
  });

  it("refuses an OSTREE_BOOTID that would leave tmp/, writing nothing", async () => {
    for (const bad of ["../../escape", "a/b", "x y", "."]) {
      process.env.OSTREE_BOOTID = bad;
      await expect(Transaction.begin(repo)).rejects.toMatchObject({
        code: "USAGE",
        message: expect.stringContaining("Invalid OSTREE_BOOTID"),
      });
    }
    expect(staging()).toEqual([]);
    expect(existsSync(join(t.dir, "escape-lock"))).toBe(false);
    // the repo lock was released: a valid transaction proceeds at once
    process.env.OSTREE_BOOTID = "ok-boot";
    await commitOne("after");
  });

  it("reuses (emptied) an unclaimed dir of this boot and deletes those of other boots", async () => {
    process.env.OSTREE_BOOTID = "old-boot";
    process.env.OSTREE_REPO_TEST_ERROR = "pre-commit";
    await expect(commitOne("a")).rejects.toThrow();
    process.env.OSTREE_BOOTID = "new-boot";
    await expect(commitOne("b")).rejects.toThrow();
    expect(staging().sort()).toEqual([expect.stringMatching(/^staging-new-boot-/)]);
    delete process.env.OSTREE_REPO_TEST_ERROR;
    await commitOne("c");
    expect(staging()).toEqual([]); // the reused dir goes with its transaction
  });

  it("never touches a staging dir another transaction holds", async () => {
    const dir = join(repo.path, "tmp", "staging-other-boot-XXXXXX");
    mkdirSync(dir);
    writeFileSync(join(dir, "keep"), "");
    const held = await acquireLock(`${dir}-lock`, "exclusive", { timeoutMs: 0 });
    try {
      await commitOne("d");
      expect(await cleanStaleStaging(repo, -1)).toBe(0);
      expect(existsSync(join(dir, "keep"))).toBe(true);
    } finally {
      held.release();
    }
    expect(await cleanStaleStaging(repo, -1)).toBe(1);
    expect(existsSync(dir)).toBe(false);
  });

  it("abort lets writes under way finish, refuses new ones, then removes the staging dir", async () => {
    const tx = await Transaction.begin(repo);
    const header = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };
    // archive: each write deflates off the main thread, so all are still under way here
    const writes = Array.from({ length: 16 }, (_, i) =>
      tx.writeContent(header, Buffer.alloc(256 * 1024, i + 1)),
    );
    await tx.abort();
    const settled = await Promise.allSettled(writes);
    expect(settled.filter((r) => r.status === "rejected")).toEqual([]);
    expect(staging()).toEqual([]);
    const late = await tx.writeContent(header, Buffer.from("late")).catch((e: unknown) => e);
    expect(isArborError(late, "USAGE")).toBe(true);
  });

  it("abort never throws and releases the repo lock when the staging dir cannot be removed", async () => {
    const tx = await Transaction.begin(repo);
    const stuck = join(tx.stagingDir, "stuck");
    writeFileSync(stuck, "");
    try {
      native().setInodeFlags(stuck, native().getInodeFlags(stuck) | FS_IMMUTABLE_FL);
    } catch {
      await tx.abort();
      return; // no inode flags here (or not root): nothing to make the removal fail with
    }
    try {
      await expect(tx.abort()).resolves.toBeUndefined();
      expect(existsSync(stuck)).toBe(true);
      const exclusive = await acquireLock(repo.lockPath, "exclusive", { timeoutMs: 0 });
      exclusive.release();
    } finally {
      native().setInodeFlags(stuck, native().getInodeFlags(stuck) & ~FS_IMMUTABLE_FL);
    }
    // the next transaction empties the unclaimed dir and reuses it
    await commitOne("e");
    expect(existsSync(stuck)).toBe(false);
  });
});
