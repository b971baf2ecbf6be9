import { linkSync, lstatSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIELDS, StatPairs } from "../../../src/managed/stat-pairs.js";
import { tempDir } from "../../helpers/cli.js";

describe("StatPairs", () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir("arbor-stat-pairs-");
  });
  afterEach(() => t.cleanup());

  /** n files in a/, the even ones hardlinked into b/, the odd ones copied; every 7th object missing. */
  function fixture(n: number): Array<[number, string, string]> {
    mkdirSync(join(t.dir, "a"));
    mkdirSync(join(t.dir, "b"));
    const pairs: Array<[number, string, string]> = [];
    for (let i = 0; i < n; i++) {
      const file = join(t.dir, "a", `f${i}`);
      const obj = join(t.dir, "b", `o${i}`);
      writeFileSync(file, `${i}\n`);
      if (i % 7 !== 0) {
        if (i % 2 === 0) linkSync(file, obj);
        else writeFileSync(obj, `${i}\n`);
      }
      pairs.push([i, file, obj]);
    }
    pairs.push([-1, join(t.dir, "a/absent"), join(t.dir, "b/absent")]);
    return pairs;
  }

  for (const n of [5, 1500]) {
    it(`reports type, inode identity, mtime and absence (${n} pairs${n > 512 ? ", on the worker" : ", in-process"})`, async () => {
      const seen = new Map<number, number[]>();
      const sp = new StatPairs<number>((tags, out) => {
        tags.forEach((tag, k) => {
          seen.set(tag, Array.from(out.subarray(k * FIELDS, (k + 1) * FIELDS)));
        });
      });
      const pairs = fixture(n);
      for (const [tag, f, o] of pairs) sp.add(tag, f, o);
      await sp.drain();
      expect(seen.size).toBe(pairs.length);
      expect(sp.workerBatches > 0).toBe(n > 512);
      for (const [tag, f, o] of pairs) {
        const r = seen.get(tag)!;
        if (tag === -1) {
          expect(r[0]).toBe(-1);
          expect(r[4]).toBe(-1);
          continue;
        }
        const st = lstatSync(f);
        expect(r.slice(0, 4)).toEqual([st.dev, st.ino, st.mode, st.mtimeMs]);
        if (tag % 7 === 0) expect(r[4]).toBe(-1);
        else {
          const os = lstatSync(o);
          expect(r.slice(4)).toEqual([os.dev, os.ino]);
          expect(r[5] === r[1]).toBe(tag % 2 === 0);
        }
      }
    });
  }

  it("rethrows what the batch handler throws, after draining", async () => {
    const sp = new StatPairs<number>(() => {
      throw new Error("boom");
    });
    for (const [tag, f, o] of fixture(600)) sp.add(tag, f, o);
    await expect(sp.drain()).rejects.toThrow("boom");
  });
});
