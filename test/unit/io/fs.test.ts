import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fromSystemError, isArborError } from "../../../src/errors.js";
import {
  clearImmutableTree,
  exists,
  existsSync,
  faultPoint,
  fsyncPath,
  fsyncPathSync,
  mkdirp,
  readFileMaybe,
  readFileMaybeSync,
  resetFaultPoints,
  rmrf,
  unlinkIfExistsSync,
} from "../../../src/io/fs.js";
import { native } from "../../../src/io/native.js";
import { collect, makeTmpDir, probeImmutable, spawnTs, srcModule } from "./_helpers.js";

let dir: string;
let cleanup: () => void;
let immutable: { ok: boolean; reason: string };

beforeAll(() => {
  ({ dir, cleanup } = makeTmpDir("arbor-fs-"));
  immutable = probeImmutable(dir);
});
afterAll(() => cleanup());
afterEach(() => resetFaultPoints({}));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("exists()", () => {
  it("is true for files, directories and dangling symlinks, false for missing paths", async () => {
    const f = join(dir, "e-file");
    fs.writeFileSync(f, "");
    const dangling = join(dir, "e-dangling");
    fs.symlinkSync(join(dir, "nowhere"), dangling);
    for (const p of [f, dir, dangling]) {
      expect(await exists(p)).toBe(true);
      expect(existsSync(p)).toBe(true);
    }
    expect(await exists(join(dir, "nope"))).toBe(false);
    expect(await exists(join(f, "below-a-file"))).toBe(false);
    expect(existsSync(join(dir, "nope"))).toBe(false);
  });
});

describe("readFileMaybe()", () => {
  it("returns contents, or null when the file or a parent is missing", async () => {
    const f = join(dir, "r-file");
    fs.writeFileSync(f, "hello");
    expect((await readFileMaybe(f))!.toString()).toBe("hello");
    expect(readFileMaybeSync(f)!.toString()).toBe("hello");
    expect(await readFileMaybe(join(dir, "r-missing"))).toBeNull();
    expect(await readFileMaybe(join(f, "child"))).toBeNull();
    expect(readFileMaybeSync(join(dir, "r-missing"))).toBeNull();
  });

  it("reports other errors as IO with the action and errno", async () => {
    const e = await rejection(readFileMaybe(dir));
    expect(isArborError(e, "IO")).toBe(true);
    expect((e as Error).message).toContain(`Cannot read "${dir}"`);
    expect((e as { data?: { errno?: string } }).data?.errno).toBe("EISDIR");
    expect(
      isArborError(
        thrown(() => readFileMaybeSync(dir)),
        "IO",
      ),
    ).toBe(true);
  });
});

describe("mkdirp()", () => {
  it("creates nested directories and accepts existing ones", async () => {
    const d = join(dir, "m", "a", "b");
    await mkdirp(d);
    await mkdirp(d);
    expect(fs.statSync(d).isDirectory()).toBe(true);
  });

  it("fails with IO when a component is a file", async () => {
    const f = join(dir, "m-file");
    fs.writeFileSync(f, "");
    const e = await rejection(mkdirp(join(f, "x")));
    expect(isArborError(e)).toBe(true);
    expect((e as Error).message).toContain("Cannot create directory");
  });
});

describe("rmrf()", () => {
  it("removes a tree and ignores a missing path", async () => {
    const d = join(dir, "rm-tree");
    fs.mkdirSync(join(d, "a", "b"), { recursive: true });
    fs.writeFileSync(join(d, "a", "b", "f"), "x");
    await rmrf(d);
    expect(fs.existsSync(d)).toBe(false);
    await rmrf(d);
  });

  it("removes symlinks without following them", async () => {
    const outside = join(dir, "rm-outside");
    fs.mkdirSync(outside);
    fs.writeFileSync(join(outside, "keep"), "x");
    const d = join(dir, "rm-links");
    fs.mkdirSync(d);
    fs.symlinkSync(outside, join(d, "link"));
    await rmrf(d);
    expect(fs.existsSync(d)).toBe(false);
    expect(fs.readFileSync(join(outside, "keep"), "utf8")).toBe("x");
  });

  it("clears immutable and append-only flags (a chattr +i deployment) and retries", async (ctx) => {
    ctx.skip(!immutable.ok, immutable.reason);
    const n = native();
    const d = join(dir, "rm-immutable");
    fs.mkdirSync(join(d, "usr"), { recursive: true });
    const f = join(d, "usr", "f");
    fs.writeFileSync(f, "x");
    n.setInodeFlags(f, n.getInodeFlags(f) | n.FS_APPEND_FL);
    n.setInodeFlags(d, n.getInodeFlags(d) | n.FS_IMMUTABLE_FL);
    // Node itself gives up (reporting ENOTDIR for the append-only file, EPERM for the directory).
    expect(thrown(() => fs.rmSync(d, { recursive: true }))).toHaveProperty("code");
    await rmrf(d);
    expect(fs.existsSync(d)).toBe(false);
  });

  it("clearImmutableTree() counts what it changed", (ctx) => {
    ctx.skip(!immutable.ok, immutable.reason);
    const n = native();
    const d = join(dir, "cit");
    fs.mkdirSync(d);
    fs.writeFileSync(join(d, "f"), "");
    fs.symlinkSync("f", join(d, "l"));
    n.setInodeFlags(d, n.getInodeFlags(d) | n.FS_IMMUTABLE_FL);
    expect(clearImmutableTree(d)).toBe(1);
    expect(clearImmutableTree(d)).toBe(0);
    fs.rmSync(d, { recursive: true });
  });
});

describe("fsyncPath()", () => {
  it("fsyncs files and directories and reports a missing path as NOT_FOUND", async () => {
    const f = join(dir, "fs-file");
    fs.writeFileSync(f, "x");
    await fsyncPath(f);
    await fsyncPath(dir);
    fsyncPathSync(f);
    fsyncPathSync(dir);
    expect(isArborError(await rejection(fsyncPath(join(dir, "fs-missing"))), "NOT_FOUND")).toBe(true);
    expect(
      isArborError(
        thrown(() => fsyncPathSync(join(dir, "fs-missing"))),
        "NOT_FOUND",
      ),
    ).toBe(true);
  });
});

describe("unlinkIfExistsSync()", () => {
  it("removes a file or a dangling symlink, and is quiet about an absent one", () => {
    const f = join(dir, "unlink-me");
    fs.writeFileSync(f, "x");
    expect(unlinkIfExistsSync(f)).toBe(true);
    expect(fs.existsSync(f)).toBe(false);
    expect(unlinkIfExistsSync(f)).toBe(false);
    const l = join(dir, "unlink-link");
    fs.symlinkSync("no-such-target", l);
    expect(unlinkIfExistsSync(l)).toBe(true);
    expect(() => fs.lstatSync(l)).toThrow(/ENOENT/);
  });

  it("reports other failures as an ArborError naming the path, and leaves a directory alone", () => {
    const d = join(dir, "unlink-dir");
    fs.mkdirSync(d);
    let err: unknown;
    try {
      unlinkIfExistsSync(d);
    } catch (e) {
      err = e;
    }
    expect(isArborError(err)).toBe(true);
    expect((err as Error).message).toMatch(new RegExp(`^Cannot remove "${d}": `));
    expect(fs.statSync(d).isDirectory()).toBe(true);
    const f = join(dir, "unlink-file");
    fs.writeFileSync(f, "x");
    expect(() => unlinkIfExistsSync(join(f, "child"))).toThrow(/ENOTDIR|not a directory/i);
  });
});

describe("faultPoint()", () => {
  it("does nothing when no fault is configured", () => {
    resetFaultPoints({});
    for (let i = 0; i < 5; i++) faultPoint("anything");
  });

  it("ARBOR_FAULT_ENOSPC=name:N throws ENOSPC from the N-th hit on, which maps to NO_SPACE", () => {
    resetFaultPoints({ ARBOR_FAULT_ENOSPC: "commit.write:2" });
    faultPoint("commit.write");
    faultPoint("other");
    const e = thrown(() => faultPoint("commit.write"));
    expect(e).toMatchObject({ code: "ENOSPC", errno: -28 });
    expect(thrown(() => faultPoint("commit.write"))).toMatchObject({ code: "ENOSPC" });
    expect(fromSystemError("Cannot write object", e).code).toBe("NO_SPACE");
  });

  it("rejects malformed values with USAGE", () => {
    expect(
      isArborError(
        thrown(() => resetFaultPoints({ ARBOR_FAULT: "x:0" })),
        "USAGE",
      ),
    ).toBe(true);
    expect(
      isArborError(
        thrown(() => resetFaultPoints({ ARBOR_FAULT_ENOSPC: ":3" })),
        "USAGE",
      ),
    ).toBe(true);
  });

  it("ARBOR_FAULT=name:N kills the process with SIGKILL at the N-th hit", async () => {
    const script = `
      import { faultPoint } from ${JSON.stringify(srcModule("io/fs.ts"))};
      for (let i = 1; i <= 5; i++) { faultPoint("other"); faultPoint("p.q"); process.stdout.write("after " + i + "\\n"); }`;
    const r = await collect(spawnTs(script, [], { ARBOR_FAULT: "p.q:3" }));
    expect(r.signal).toBe("SIGKILL");
    expect(r.stdout).toBe("after 1\nafter 2\n");

    const unset = await collect(spawnTs(script, [], { ARBOR_FAULT: "" }));
    expect(unset.code).toBe(0);
    expect(unset.stdout.trim().split("\n")).toHaveLength(5);
  });
});
