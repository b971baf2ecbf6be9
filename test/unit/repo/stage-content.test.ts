/**
 * writeBareFileNative refuses a body in chunks without `unpack` at the call, so the mistake fails
 * that write alone: the addon would refuse it only when the batch goes out, failing the batch.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hasNativeWriter, writeBareFileNative } from "../../../src/repo/stage-content.js";
import { tmp } from "./_fsck-prune-fixtures.js";

let t: ReturnType<typeof tmp>;
beforeEach(() => {
  t = tmp("arbor-stage-");
});
afterEach(() => t.cleanup());

const header = { uid: 0, gid: 0, mode: 0o100644, symlinkTarget: "", xattrs: [] };

describe.skipIf(!hasNativeWriter())("writeBareFileNative", () => {
  it("refuses chunks without unpack at once; a write batched beside it still lands", async () => {
    const d = join(t.dir, "staging");
    mkdirSync(d);
    const good = writeBareFileNative("bare-user", join(d, "good"), header, Buffer.from("data\n"));
    expect(() =>
      writeBareFileNative("bare-user", join(d, "bad"), header, [Buffer.from("da"), Buffer.from("ta\n")]),
    ).toThrow(/data in chunks goes with unpack only/);
    await good;
    expect(readFileSync(join(d, "good"), "utf8")).toBe("data\n");
    expect(existsSync(join(d, "bad"))).toBe(false);
  });
});
