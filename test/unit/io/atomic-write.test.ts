import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import {
  fsyncDir,
  isAtomicTempName,
  writeFileAtomic,
  writeFileAtomicSync,
} from "../../../src/io/atomic-write.js";
import { resetFaultPoints } from "../../../src/io/fs.js";
import { collect, makeTmpDir, spawnTs, srcModule } from "./_helpers.js";

let root: string;
let cleanup: () => void;
let n = 0;

beforeAll(() => {
  ({ dir: root, cleanup } = makeTmpDir("arbor-aw-"));
});
afterAll(() => cleanup());
afterEach(() => resetFaultPoints({}));

/** A fresh empty directory per test, so "no temp files left" can look at everything. */
function freshDir(): string {
  const d = join(root, `t${n++}`);
  fs.mkdirSync(d);
  return d;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("writeFileAtomic()", () => {
  it("creates and replaces a file, leaving no temporary files", async () => {
    const d = freshDir();
    const p = join(d, "ref");
    await writeFileAtomic(p, "one\n");
    expect(fs.readFileSync(p, "utf8")).toBe("one\n");
    await writeFileAtomic(p, new Uint8Array([0x74, 0x77, 0x6f]));
    expect(fs.readFileSync(p, "utf8")).toBe("two");
    writeFileAtomicSync(p, "three");
    expect(fs.readFileSync(p, "utf8")).toBe("three");
    await writeFileAtomic(p, "four", { fsync: false });
    expect(fs.readFileSync(p, "utf8")).toBe("four");
    expect(fs.readdirSync(d)).toEqual(["ref"]);
  });

  it("applies an explicit mode exactly, regardless of umask", async () => {
    const d = freshDir();
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(join(d, "a"), "x", { mode: 0o644 });
      writeFileAtomicSync(join(d, "b"), "x", { mode: 0o640 });
    } finally {
      process.umask(old);
    }
    expect(fs.statSync(join(d, "a")).mode & 0o7777).toBe(0o644);
    expect(fs.statSync(join(d, "b")).mode & 0o7777).toBe(0o640);
  });

  it("fails with NOT_FOUND when the directory is missing", async () => {
    const d = freshDir();
    const e = await rejection(writeFileAtomic(join(d, "missing", "f"), "x"));
    expect(isArborError(e, "NOT_FOUND")).toBe(true);
    expect((e as Error).message).toContain("Cannot write");
    expect(fs.readdirSync(d)).toEqual([]);
  });

  it("on a disk-full failure keeps the old contents and removes its temporary file", async () => {
    const d = freshDir();
    const p = join(d, "f");
    await writeFileAtomic(p, "old");
    resetFaultPoints({ ARBOR_FAULT_ENOSPC: "atomic-write.before-rename" });
    const e = await rejection(writeFileAtomic(p, "new"));
    expect(isArborError(e, "NO_SPACE")).toBe(true);
    expect(() => writeFileAtomicSync(p, "new")).toThrow(/no space/);
    expect(fs.readFileSync(p, "utf8")).toBe("old");
    expect(fs.readdirSync(d)).toEqual(["f"]);
  });

  it("refuses to write over a directory and cleans up", async () => {
    const d = freshDir();
    fs.mkdirSync(join(d, "sub"));
    const e = await rejection(writeFileAtomic(join(d, "sub"), "x"));
    expect(isArborError(e)).toBe(true);
    expect(fs.readdirSync(d)).toEqual(["sub"]);
  });

  it("after a crash (SIGKILL) at either fault point the file is wholly old or wholly new", async () => {
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(srcModule("io/atomic-write.ts"))};
      await writeFileAtomic(process.argv[1], "new contents");`;
    for (const [point, expected] of [
      ["atomic-write.before-rename", "old contents"],
      ["atomic-write.after-rename", "new contents"],
    ] as const) {
      const d = freshDir();
      const p = join(d, "f");
      fs.writeFileSync(p, "old contents");
      const r = await collect(spawnTs(script, [p], { ARBOR_FAULT: point }));
      expect(r.signal, r.stderr).toBe("SIGKILL");
      expect(fs.readFileSync(p, "utf8")).toBe(expected);
      // A crash before the rename leaves a temp file that cleanup can recognise.
      const leftovers = fs.readdirSync(d).filter((x) => x !== "f");
      expect(leftovers.every(isAtomicTempName)).toBe(true);
      expect(leftovers).toHaveLength(point === "atomic-write.before-rename" ? 1 : 0);
    }
  });
});

describe("isAtomicTempName()", () => {
  it("recognises temp names and nothing that could be a ref or object", () => {
    expect(isAtomicTempName(".main.tmp-0123456789ab")).toBe(true);
    expect(isAtomicTempName("main")).toBe(false);
    expect(isAtomicTempName("main.tmp-0123456789ab")).toBe(false);
    expect(isAtomicTempName(".main.tmp-xyz")).toBe(false);
  });
});

describe("fsyncDir()", () => {
  it("fsyncs a directory and reports a missing one", async () => {
    await fsyncDir(root);
    expect(isArborError(await rejection(fsyncDir(join(root, "nope"))), "NOT_FOUND")).toBe(true);
  });
});
