import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lockSysroot } from "../../../src/sysroot/lock.js";
import { makeSysroot, tempDir } from "./_fixtures.js";

describe("lockSysroot()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  beforeEach(() => {
    t = tempDir();
    path = makeSysroot(t.dir);
  });
  afterEach(() => t.cleanup());

  it("serializes holders, says what it waits for, and removes ostree/lock on release", async () => {
    const first = await lockSysroot(path);
    expect(existsSync(join(path, "ostree/lock"))).toBe(true);
    const messages: string[] = [];
    const second = lockSysroot(path, { onWait: (m) => messages.push(m) });
    await new Promise((r) => setTimeout(r, 100));
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(
      /Waiting for sysroot lock ".*ostree\/lock" \(another admin command is changing this sysroot\)/,
    );
    first.release();
    const h = await second;
    h.release();
    expect(existsSync(join(path, "ostree/lock"))).toBe(false);
  });

  it("gives up after timeoutMs with LOCKED", async () => {
    const first = await lockSysroot(path);
    await expect(lockSysroot(path, { timeoutMs: 50 })).rejects.toMatchObject({ code: "LOCKED" });
    first.release();
  });
});
