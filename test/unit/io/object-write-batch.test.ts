// io/object-write-batch.ts: object files asked for in one turn of the event loop are written in one
// writeObjectFiles trip; each caller still gets its own outcome.
import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NativeAddon, native, type ObjectFileWrite } from "../../../src/io/native.js";
import { ObjectWriteBatcher } from "../../../src/io/object-write-batch.js";
import { makeTmpDir } from "./_helpers.js";

let root: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir: root, cleanup } = makeTmpDir("arbor-owb-"));
});
afterAll(() => cleanup());

/** The real addon, with every call recorded. */
function spyAddon() {
  const n = native() as Required<NativeAddon>;
  const calls: Array<{ fn: "one" | "many"; count: number }> = [];
  return {
    calls,
    addon: {
      writeObjectFile: (...item: ObjectFileWrite) => {
        calls.push({ fn: "one", count: 1 });
        return n.writeObjectFile(...item);
      },
      writeObjectFiles: (items: ReadonlyArray<ObjectFileWrite>) => {
        calls.push({ fn: "many", count: items.length });
        return n.writeObjectFiles(items);
      },
    },
  };
}

describe("ObjectWriteBatcher", () => {
  it("writes what one turn asks for in a few trips (16 at most gathered, 4 or more per trip)", async () => {
    const d = join(root, "burst");
    fs.mkdirSync(d);
    const { calls, addon } = spyAddon();
    const b = new ObjectWriteBatcher(addon);
    const names = Array.from({ length: 20 }, (_, i) => `o${i}.file`);
    // (the pool has 4 threads here: vitest does not set UV_THREADPOOL_SIZE)
    await Promise.all(names.map((n) => b.write(join(d, n), Buffer.from(n), 0o644, -1, -1, [])));
    // 16 gathered go out at once, one trip per pool thread; the last 4 when the turn ends
    expect(calls).toEqual(Array.from({ length: 5 }, () => ({ fn: "many", count: 4 })));
    for (const n of names) expect(fs.readFileSync(join(d, n), "utf8")).toBe(n);
  });

  it("a lone write goes alone", async () => {
    const d = join(root, "lone");
    fs.mkdirSync(d);
    const { calls, addon } = spyAddon();
    await new ObjectWriteBatcher(addon).write(join(d, "x.file"), Buffer.from("x"), 0o644, -1, -1, []);
    expect(calls).toEqual([{ fn: "one", count: 1 }]);
  });

  it("rejects only the caller whose write failed", async () => {
    const d = join(root, "partial");
    fs.mkdirSync(d);
    const b = new ObjectWriteBatcher(spyAddon().addon);
    const good = b.write(join(d, "good.file"), Buffer.from("g"), 0o644, -1, -1, []);
    const bad = b.write(join(d, "nodir", "bad.file"), Buffer.from("b"), 0o644, -1, -1, []);
    const [g, r] = await Promise.allSettled([good, bad]); // both handled at once: no stray rejection
    expect(g.status).toBe("fulfilled");
    expect(r.status === "rejected" && r.reason).toMatchObject({ code: "ENOENT" });
    expect(fs.readdirSync(d)).toEqual(["good.file"]);
  });

  it("bad arguments in one item fail that item alone (the rest are written one by one)", async () => {
    const d = join(root, "badarg");
    fs.mkdirSync(d);
    const { calls, addon } = spyAddon();
    const b = new ObjectWriteBatcher(addon);
    const good = b.write(join(d, "good.file"), Buffer.from("g"), 0o644, -1, -1, []);
    const bad = b.write(join(d, "bad.file"), Buffer.from("b"), 0o644, -5, -1, []);
    const [g, r] = await Promise.allSettled([good, bad]);
    expect(g.status).toBe("fulfilled");
    expect(r.status === "rejected" && String(r.reason)).toMatch(/uid must be -1/);
    expect(calls.map((c) => c.fn)).toEqual(["many", "one", "one"]);
    expect(fs.readdirSync(d)).toEqual(["good.file"]);
  });
});
