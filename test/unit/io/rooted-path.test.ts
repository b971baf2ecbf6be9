import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import {
  ensureDirNoFollow,
  ensureDirNoFollowSync,
  joinUnder,
  splitRelPath,
  validateName,
} from "../../../src/io/rooted-path.js";
import { makeTmpDir } from "./_helpers.js";

let dir: string;
let cleanup: () => void;
let n = 0;

beforeAll(() => {
  ({ dir, cleanup } = makeTmpDir("arbor-rooted-"));
});
afterAll(() => cleanup());

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** A target directory plus a sibling "outside" directory an attacker would like us to write into. */
function fixture(): { target: string; outside: string } {
  const base = join(dir, `f${n++}`);
  const target = join(base, "target");
  const outside = join(base, "outside");
  fs.mkdirSync(target, { recursive: true });
  fs.mkdirSync(outside);
  return { target, outside };
}

describe("validateName()", () => {
  it.each([
    ["", "is empty"],
    [".", "relative directory"],
    ["..", "relative directory"],
    ["a/b", 'contains "/"'],
    ["a\0b", "NUL"],
  ])("rejects %j with BAD_NAME", (name, why) => {
    const e = thrown(() => validateName(name));
    expect(isArborError(e, "BAD_NAME")).toBe(true);
    expect((e as Error).message).toContain(JSON.stringify(name));
    expect((e as Error).message).toContain(why);
  });

  it("accepts ordinary names, including dots and spaces inside", () => {
    for (const name of ["a", "...", ".hidden", "a..b", "with space", "ünïcode"]) validateName(name);
  });
});

describe("joinUnder()", () => {
  it.each(["..", "a/../../x", "a/..", "./a", "a/\0/b", "x/../../../etc/passwd"])("rejects %j", (rel) => {
    const e = thrown(() => joinUnder("/root/dir", rel));
    expect(isArborError(e, "BAD_NAME")).toBe(true);
    expect((e as Error).message).toContain(JSON.stringify(rel));
  });

  it("joins validated components under the root, ignoring empty ones", () => {
    expect(joinUnder("/srv/co", "usr/bin/env")).toBe("/srv/co/usr/bin/env");
    expect(joinUnder("/srv/co/", "/usr//bin/")).toBe("/srv/co/usr/bin");
    expect(joinUnder("/srv/co", "")).toBe("/srv/co");
    expect(joinUnder("/srv/co", ["usr", "lib"])).toBe("/srv/co/usr/lib");
    expect(splitRelPath("/a//b/")).toEqual(["a", "b"]);
  });

  it("validates array components too", () => {
    expect(
      isArborError(
        thrown(() => joinUnder("/r", ["a", ".."])),
        "BAD_NAME",
      ),
    ).toBe(true);
    expect(
      isArborError(
        thrown(() => joinUnder("/r", ["a/b"])),
        "BAD_NAME",
      ),
    ).toBe(true);
    expect(
      isArborError(
        thrown(() => joinUnder("/r", [""])),
        "BAD_NAME",
      ),
    ).toBe(true);
  });
});

describe.each([
  ["ensureDirNoFollow", ensureDirNoFollow],
  [
    "ensureDirNoFollowSync",
    async (...a: Parameters<typeof ensureDirNoFollowSync>) => ensureDirNoFollowSync(...a),
  ],
] as const)("%s()", (_name, ensure) => {
  it("creates missing directories component by component and returns the path", async () => {
    const { target } = fixture();
    fs.mkdirSync(join(target, "usr"));
    const p = await ensure(target, "usr/lib/modules", { mode: 0o700 });
    expect(p).toBe(join(target, "usr", "lib", "modules"));
    expect(fs.statSync(p).isDirectory()).toBe(true);
    expect(fs.statSync(p).mode & 0o777).toBe(0o700 & ~process.umask());
    expect(await ensure(target, ["usr", "lib"])).toBe(join(target, "usr", "lib"));
    expect(await ensure(target, "")).toBe(target);
  });

  it("refuses a hostile symlink in the middle of the path and writes nothing outside", async () => {
    const { target, outside } = fixture();
    fs.symlinkSync(outside, join(target, "usr"));
    const e = await rejection(ensure(target, "usr/bin"));
    expect(isArborError(e, "PATH_ESCAPE")).toBe(true);
    expect((e as Error).message).toContain('"usr" is a symlink');
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it("refuses a symlink as the last component, even one pointing inside", async () => {
    const { target } = fixture();
    fs.mkdirSync(join(target, "real"));
    fs.symlinkSync("real", join(target, "alias"));
    expect(isArborError(await rejection(ensure(target, "alias")), "PATH_ESCAPE")).toBe(true);
  });

  it("refuses a relative symlink that climbs out (../..)", async () => {
    const { target, outside } = fixture();
    fs.mkdirSync(join(target, "etc"));
    fs.symlinkSync("../../outside", join(target, "etc", "up"));
    expect(isArborError(await rejection(ensure(target, "etc/up/x")), "PATH_ESCAPE")).toBe(true);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it("refuses a regular file where a directory is needed", async () => {
    const { target } = fixture();
    fs.writeFileSync(join(target, "usr"), "");
    const e = await rejection(ensure(target, "usr/bin"));
    expect(isArborError(e, "PATH_ESCAPE")).toBe(true);
    expect((e as Error).message).toContain("not a directory");
  });

  it("rejects .. before touching the filesystem", async () => {
    const { target, outside } = fixture();
    expect(isArborError(await rejection(ensure(target, "../outside/x")), "BAD_NAME")).toBe(true);
    expect(isArborError(await rejection(ensure(target, ["..", "outside"])), "BAD_NAME")).toBe(true);
    expect(fs.readdirSync(outside)).toEqual([]);
  });

  it("trusts the root itself even if it is a symlink, but requires it to exist", async () => {
    const { target } = fixture();
    const alias = `${target}-alias`;
    fs.symlinkSync(target, alias);
    expect(await ensure(alias, "a")).toBe(join(alias, "a"));
    expect(fs.statSync(join(target, "a")).isDirectory()).toBe(true);
    expect(isArborError(await rejection(ensure(join(target, "missing"), "a")), "NOT_FOUND")).toBe(true);
  });
});
