/**
 * `debian:` compose inputs for real: the same manifest (a small `essential` Debian bookworm built by
 * mmdebstrap) composed twice, one build after the other, gives the same commit checksum.
 *
 * What makes it reproducible: `source_date_epoch` is passed to mmdebstrap as SOURCE_DATE_EPOCH (it
 * clamps times and removes the logs and caches that record the build), arbor removes the build
 * host's /etc/hostname and /etc/resolv.conf (mmdebstrap copies them in), and OSTree checksums
 * carry no mtimes. What does not: the mirror. Builds on different days see the same packages
 * while the suite is unchanged (builds on 2026-11-26 and 2026-11-27 matched) or when the mirror is
 * pinned to a snapshot (ARBOR_DEBIAN_MIRROR=http://snapshot.debian.org/archive/debian/YYYYMMDDT000000Z);
 * the default deb.debian.org moves with every point release.
 *
 * Slow (two bootstraps, a few minutes; needs mmdebstrap, root and the network). Runs only with
 * ARBOR_SLOW_TESTS=1:
 *   npm run build && ARBOR_SLOW_TESTS=1 npx vitest run test/e2e/compose-debian.test.ts
 * ARBOR_DEBIAN_EXPECT_COMMIT=CHECKSUM also compares the builds with a commit recorded on an earlier
 * day (docs/managed.md, "`debian:` inputs", lists the recorded ones with the mirror's state then).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, ok, tempDir } from "../helpers/cli.js";

const hasMmdebstrap = spawnSync("mmdebstrap", ["--version"]).status === 0;
const enabled = process.env.ARBOR_SLOW_TESTS === "1" && hasMmdebstrap && process.getuid?.() === 0;
const MIRROR = process.env.ARBOR_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
const EXPECT = process.env.ARBOR_DEBIAN_EXPECT_COMMIT;

describe.skipIf(!enabled)("compose: debian: inputs (mmdebstrap)", () => {
  let t: ReturnType<typeof tempDir>;
  beforeAll(() => {
    t = tempDir("arbor-compose-debian-");
    writeFileSync(
      join(t.dir, "os.yaml"),
      [
        "ref: debian/essential",
        'version: "12"',
        "source_date_epoch: 1700000000",
        "inputs:",
        "  - debian:",
        "      suite: bookworm",
        "      variant: essential",
        `      mirror: ${MIRROR}`,
        "",
      ].join("\n"),
    );
    ok(arbor(["init", `--repo=${join(t.dir, "repo")}`, "--mode=bare-user"]), "init");
  });
  afterAll(() => t?.cleanup());

  it("two builds of the same manifest give the same commit", () => {
    const build = (n: number) => {
      const t0 = Date.now();
      const r = arbor(["compose", `--repo=${join(t.dir, "repo")}`, "--json", "os.yaml"], { cwd: t.dir });
      expect(r.code, r.stderr).toBe(0);
      console.log(`build ${n}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
      const res = JSON.parse(r.stdout) as { commit: string; rootTree: string; files: number };
      console.log(`build ${n}: commit ${res.commit}`);
      return res;
    };
    const a = build(1);
    const b = build(2);
    const diff = spawnSync("ostree", ["diff", `--repo=${join(t.dir, "repo")}`, a.commit, b.commit], {
      encoding: "utf8",
    });
    expect(diff.stdout, "files that differ between the builds").toBe("");
    expect(b.rootTree).toBe(a.rootTree);
    expect(b.commit).toBe(a.commit);
    if (EXPECT) expect(a.commit, "the commit recorded on an earlier day").toBe(EXPECT);
    expect(a.files).toBeGreaterThan(1000);
    const ls = spawnSync("ostree", ["ls", `--repo=${join(t.dir, "repo")}`, a.commit, "/usr/etc"], {
      encoding: "utf8",
    });
    expect(ls.stdout).toContain("/usr/etc/os-release");
    expect(ls.stdout).not.toContain("/usr/etc/hostname");
    expect(ls.stdout).not.toContain("/usr/etc/resolv.conf");
  }, 1_800_000);
});
