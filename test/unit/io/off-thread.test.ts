import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFileOffThread, fsyncPathOffThread, renameOffThread } from "../../../src/io/off-thread.js";
import { makeTmpDir } from "./_helpers.js";

describe("off-thread file calls", () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeEach(() => {
    tmp = makeTmpDir("arbor-offthread-");
  });
  afterEach(() => tmp.cleanup());

  it("creates a file with its mode and data, runs finish on the open fd, and closes it", async () => {
    const p = join(tmp.dir, "f");
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    let finished = -1;
    await createFileOffThread(p, data, 0o600, (fd) => {
      fs.fchmodSync(fd, 0o640);
      finished = fd;
    });
    expect(Buffer.compare(fs.readFileSync(p), Buffer.from(data))).toBe(0);
    expect(fs.statSync(p).mode & 0o7777).toBe(0o640);
    expect(() => fs.fstatSync(finished)).toThrow(/EBADF/);
  });

  it("truncates an existing file and writes empty data", async () => {
    const p = join(tmp.dir, "f");
    fs.writeFileSync(p, "old contents");
    await createFileOffThread(p, new Uint8Array(0), 0o644);
    expect(fs.statSync(p).size).toBe(0);
  });

  it("closes the file when finish throws, and passes the error on", async () => {
    const p = join(tmp.dir, "f");
    let fd = -1;
    await expect(
      createFileOffThread(p, new Uint8Array([1]), 0o600, (f) => {
        fd = f;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(() => fs.fstatSync(fd)).toThrow(/EBADF/);
  });

  it("reports a missing directory as the system error", async () => {
    await expect(createFileOffThread(join(tmp.dir, "no", "f"), new Uint8Array(1), 0o600)).rejects.toThrow(
      /ENOENT/,
    );
    await expect(fsyncPathOffThread(join(tmp.dir, "absent"))).rejects.toThrow(/ENOENT/);
    await expect(renameOffThread(join(tmp.dir, "a"), join(tmp.dir, "b"))).rejects.toThrow(/ENOENT/);
  });

  it("renames and fsyncs files and directories", async () => {
    const a = join(tmp.dir, "a");
    fs.writeFileSync(a, "x");
    await renameOffThread(a, join(tmp.dir, "b"));
    expect(fs.existsSync(a)).toBe(false);
    expect(fs.readFileSync(join(tmp.dir, "b"), "utf8")).toBe("x");
    await fsyncPathOffThread(join(tmp.dir, "b"));
    await fsyncPathOffThread(tmp.dir);
  });
});
