import * as fs from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deserialize } from "../../../src/gvariant/deserialize.js";
import { COMMIT } from "../../../src/gvariant/formats.js";
import { ghashOrder, ghashOrderPairs, gStrHash } from "../../../src/gvariant/ghash-order.js";
import type { GVValue, Variant } from "../../../src/gvariant/serialize.js";
import { printVariant } from "../../../src/gvariant/text.js";
import { byteswapValue, HAVE_OSTREE, OstreeScratch } from "./_arb.js";

describe("ghashOrder()", () => {
  it("hashes strings with g_str_hash (djb2 over signed bytes)", () => {
    expect(gStrHash("")).toBe(5381);
    expect(gStrHash("a")).toBe((5381 * 33 + 97) >>> 0);
    // a byte >= 0x80 counts as negative (signed char)
    expect(gStrHash("é")).toBe((((5381 * 33 + (0xc3 - 256)) >>> 0) * 33 + (0xa9 - 256)) >>> 0);
  });

  it("is a permutation of the distinct keys; re-inserting keeps the slot", () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 6 }), { maxLength: 60 }), (keys) => {
        const order = ghashOrder(keys);
        expect([...order].sort()).toEqual([...new Set(keys)].sort());
        expect(ghashOrder([...keys, ...keys])).toEqual(order);
      }),
    );
    expect(
      ghashOrderPairs([
        ["a", 1],
        ["b", 2],
        ["a", 3],
      ]).find(([k]) => k === "a"),
    ).toEqual(["a", 3]);
  });
});

describe.skipIf(!HAVE_OSTREE)("ghashOrder() against ostree commit --bootable", () => {
  let scratch: OstreeScratch;
  let tree: string;
  beforeAll(() => {
    scratch = new OstreeScratch("archive");
    tree = join(scratch.dir, "tree");
    fs.mkdirSync(join(tree, "usr/lib/modules/5.10.0"), { recursive: true });
    fs.writeFileSync(join(tree, "usr/lib/modules/5.10.0/vmlinuz"), "kernel");
    fs.writeFileSync(join(tree, "usr/lib/modules/5.10.0/initramfs.img"), "initramfs");
  });
  afterAll(() => scratch.cleanup());

  const keySets: string[][] = [
    Array.from({ length: 24 }, (_, i) => `key${i}`),
    fc.sample(fc.stringMatching(/^[a-z][a-z0-9._-]{0,11}$/), { numRuns: 45, seed: 7 }),
    ["version", "ostree.source-title", "x", "zz", "é", ...Array.from({ length: 30 }, (_, i) => `k.${i * 7}`)],
  ];

  for (const [n, userKeys] of keySets.entries()) {
    it(`orders ${new Set(userKeys).size} metadata keys as ostree does (set ${n})`, () => {
      const keys = [...new Set(userKeys)];
      const args = keys.map((k, i) => `--add-metadata-string=${k}=v${i}`);
      const cs = scratch.ostree("commit", "-b", "os", "--bootable", `--tree=dir=${tree}`, ...args).trim();
      const bytes = fs.readFileSync(join(scratch.repo, "objects", cs.slice(0, 2), `${cs.slice(2)}.commit`));
      const commit = deserialize(COMMIT, bytes) as GVValue[];
      const stored = (commit[0] as Array<[string, Variant]>).map(([k]) => k);
      expect(stored).toEqual(ghashOrder([...keys, "ostree.ref-binding", "ostree.bootable", "ostree.linux"]));
      // and `ostree show --raw` prints the same order — the whole line as arbor's printer prints it
      const raw = scratch.ostree("show", "--raw", cs).trim().split("\n");
      expect(raw[0]).toBe(`commit ${cs}`);
      expect(raw[1]).toBe(printVariant(COMMIT, byteswapValue(COMMIT, commit)));
    });
  }
});
