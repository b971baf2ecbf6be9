import { lstatSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { initFs, initOsname } from "../../../src/sysroot/init.js";
import { tempDir } from "./_fixtures.js";

describe("initFs() and initOsname()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it("creates the traditional top level, a bare repo and ostree/deploy", () => {
    initFs(t.dir);
    expect(lstatSync(join(t.dir, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(t.dir, "root")).mode & 0o777).toBe(0o700);
    for (const d of ["boot", "dev", "home", "proc", "run", "sys", "ostree/deploy"]) {
      expect(lstatSync(join(t.dir, d)).isDirectory()).toBe(true);
    }
    expect(readFileSync(join(t.dir, "ostree/repo/config"), "utf8")).toContain("mode=bare");
  });

  it("--modern creates only boot and ostree", () => {
    initFs(t.dir, { modern: true });
    expect(() => lstatSync(join(t.dir, "home"))).toThrow();
    expect(lstatSync(join(t.dir, "boot")).isDirectory()).toBe(true);
  });

  it("requires an existing directory", () => {
    expect(() => initFs(join(t.dir, "nope"))).toThrow(/opendir/);
  });

  it("os-init makes the 2022.7 /var skeleton and refuses to run twice", () => {
    initFs(t.dir);
    initOsname(t.dir, "os");
    const v = join(t.dir, "ostree/deploy/os/var");
    expect(lstatSync(join(v, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(readlinkSync(join(v, "run"))).toBe("../run");
    expect(readlinkSync(join(v, "lock"))).toBe("../run/lock");
    expect(() => initOsname(t.dir, "os")).toThrow("Creating ostree/deploy/os: File exists");
  });

  it("rejects stateroot names that would escape", () => {
    initFs(t.dir);
    expect(() => initOsname(t.dir, "../x")).toThrow(/Invalid file name/);
    expect(() => initOsname(t.dir, "..")).toThrow(/Invalid file name/);
  });
});
