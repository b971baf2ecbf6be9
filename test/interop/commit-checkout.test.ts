/**
 * Interop: the same tree and flags give the same commit checksum with arbor and the real ostree,
 * in every repository mode; each tool fscks and checks out what the other wrote, identically.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";
import { makeHostileTree, supportsUserXattrs, treeManifest } from "../helpers/trees.js";

const TS = "2021-06-01 12:00:00 +0000";
const isRoot = process.getuid?.() === 0;

describe.skipIf(!hasOstree)("commit and checkout interop with ostree", () => {
  let t: ReturnType<typeof tempDir>;
  let tree: string;
  let xattrs = false;

  beforeAll(() => {
    t = tempDir("arbor-interop-");
    tree = join(t.dir, "tree");
    mkdirSync(tree);
    xattrs = supportsUserXattrs(t.dir);
    makeHostileTree(tree, { xattrs, owners: isRoot });
  });
  afterAll(() => t.cleanup());

  const flagSets: Array<{ name: string; flags: string[] }> = [
    { name: "plain", flags: [] },
    {
      name: "metadata + subject + body",
      flags: [
        "-s",
        "subject ü",
        "-m",
        "body\nline 2",
        "--add-metadata-string=version=1.2.3",
        "--add-metadata-string=zz=last",
        "--add-metadata-string=aa=first",
      ],
    },
    {
      name: "bootable with metadata",
      flags: [
        "--bootable",
        "--add-metadata-string=version=7",
        "--add-metadata-string=e=1",
        "--add-metadata-string=b=2",
      ],
    },
    { name: "owner override", flags: ["--owner-uid=0", "--owner-gid=0"] },
    { name: "canonical permissions", flags: ["--canonical-permissions"] },
    { name: "no xattrs, no bindings", flags: ["--no-xattrs", "--no-bindings"] },
    { name: "bind refs", flags: ["--bind-ref=other/ref", "--bind-ref=a"] },
  ];

  for (const mode of ["archive", "bare-user", "bare", "bare-user-only"] as const) {
    describe(`mode ${mode}`, () => {
      // the full flag matrix for the two modes that matter most; a representative subset for the others
      const sets =
        mode === "archive" || mode === "bare-user"
          ? flagSets
          : flagSets.filter((f) => /plain|bootable|canonical/.test(f.name));
      for (const fs of sets) {
        it(`same commit checksum as ostree: ${fs.name}`, () => {
          const ra = join(t.dir, `a-${mode}-${fs.name.replace(/\W+/g, "_")}`);
          const ro = join(t.dir, `o-${mode}-${fs.name.replace(/\W+/g, "_")}`);
          ok(ostree(["init", `--repo=${ro}`, `--mode=${mode}`]), "ostree init");
          ok(arbor(["init", `--repo=${ra}`, `--mode=${mode}`]), "arbor init");
          const args = ["commit", "-b", "os/x86_64/main", `--timestamp=${TS}`, ...fs.flags, tree];
          const co = ostree([...args, `--repo=${ro}`]);
          const ca = arbor([...args, `--repo=${ra}`]);
          expect(ca.code, ca.stderr).toBe(co.code);
          if (co.code !== 0) return; // both refused (e.g. canonical + owner)
          expect(ca.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
          expect(ca.stdout.trim()).toBe(co.stdout.trim());
          // ostree accepts what arbor wrote
          ok(ostree(["fsck", `--repo=${ra}`]), "ostree fsck of arbor repo");
        });
      }

      it("ostree checks out arbor's commit identical to the source, and arbor ostree's", () => {
        const ra = join(t.dir, `co-a-${mode}`);
        const ro = join(t.dir, `co-o-${mode}`);
        ok(ostree(["init", `--repo=${ro}`, `--mode=${mode}`]));
        ok(arbor(["init", `--repo=${ra}`, `--mode=${mode}`]));
        const args = ["commit", "-b", "main", `--timestamp=${TS}`, tree];
        ok(ostree([...args, `--repo=${ro}`]));
        ok(arbor([...args, `--repo=${ra}`]));
        // Full-fidelity checkouts need root (owners) and aren't meaningful for bare-user-only (canonical)
        const userMode = !isRoot || mode === "bare-user-only";
        const coFlags = userMode ? ["-U"] : [];
        const outOA = join(t.dir, `out-ostree-of-arbor-${mode}`);
        const outAO = join(t.dir, `out-arbor-of-ostree-${mode}`);
        const outOO = join(t.dir, `out-ostree-of-ostree-${mode}`);
        ok(ostree(["checkout", `--repo=${ra}`, ...coFlags, "main", outOA]), "ostree checkout of arbor repo");
        ok(arbor(["checkout", `--repo=${ro}`, ...coFlags, "main", outAO]), "arbor checkout of ostree repo");
        ok(ostree(["checkout", `--repo=${ro}`, ...coFlags, "main", outOO]), "ostree checkout of ostree repo");
        const full = !userMode;
        const mopts = { owners: full, xattrs: full && xattrs && mode !== "bare-user-only" };
        const reference = treeManifest(outOO, mopts);
        expect(treeManifest(outOA, mopts)).toEqual(reference);
        expect(treeManifest(outAO, mopts)).toEqual(reference);
        if (full && mode !== "bare-user-only") {
          // and the checkout equals the source tree itself
          expect(treeManifest(outAO, mopts)).toEqual(treeManifest(tree, mopts));
        }
      });
    });
  }

  it("arbor reads ostree's log, ls and cat output identically", () => {
    const ro = join(t.dir, "read-o");
    ok(ostree(["init", `--repo=${ro}`, "--mode=archive"]));
    ok(
      ostree([
        "commit",
        `--repo=${ro}`,
        "-b",
        "main",
        "-s",
        "one",
        "--add-metadata-string=version=1",
        `--timestamp=${TS}`,
        tree,
      ]),
    );
    ok(
      ostree(["commit", `--repo=${ro}`, "-b", "main", "-s", "two", "-m", "body", `--timestamp=${TS}`, tree]),
    );
    for (const args of [
      ["log", "main"],
      ["show", "main"],
      ["ls", "-R", "main"],
      ["ls", "-C", "main", "/usr/bin"],
      ["ls", "-d", "main", "/etc"],
      ["cat", "main", "/usr/bin/sh"],
      ["rev-parse", "main^"],
      ["refs"],
      ["show", "--print-metadata-key=version", "main^"],
    ]) {
      const a = arbor([...args, `--repo=${ro}`]);
      const o = ostree([...args, `--repo=${ro}`]);
      expect({ args, code: a.code, out: a.stdout }).toEqual({ args, code: o.code, out: o.stdout });
    }
  });
});
