/**
 * A real Debian root filesystem through the whole machine-side cycle with `arbor admin`: prepared
 * into OSTree layout (`/etc` → `/usr/etc`, kernel and initramfs into `usr/lib/modules/KVER/`),
 * committed, deployed, upgraded to a second commit (local /etc edits carried over), rolled back —
 * and the real `ostree admin status` reading the result at each step.
 *
 * Slow (a 700 MB tree): runs only with ARBOR_SLOW_TESTS=1 and the corpus present:
 *   ../shared/tools/make-corpus.sh /var/tmp/arbor-corpus/full full
 *   npm run build && ARBOR_SLOW_TESTS=1 npx vitest run test/e2e/admin-debian.test.ts
 * (ARBOR_CORPUS_DIR overrides /var/tmp/arbor-corpus.)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree } from "../helpers/cli.js";
import { tempDir } from "../unit/sysroot/_fixtures.js";

const CORPUS = join(process.env.ARBOR_CORPUS_DIR ?? "/var/tmp/arbor-corpus", "full");
const enabled =
  process.env.ARBOR_SLOW_TESTS === "1" && existsSync(join(CORPUS, ".corpus-complete")) && hasOstree;
const ENV = { OSTREE_SYSROOT_DEBUG: "mutable-deployments" };

function timed<T>(what: string, fn: () => T): T {
  const t0 = Date.now();
  const r = fn();
  console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

describe.skipIf(!enabled)("Debian rootfs: prepare, commit, deploy, upgrade, rollback", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let sysroot: string;
  let stage: string;
  let kver: string;
  const admin = (args: string[]) =>
    ok(arbor(["admin", ...args, `--sysroot=${sysroot}`], { env: ENV }), `arbor admin ${args[0]}`);
  const repoArg = () => `--repo=${sysroot}/ostree/repo`;

  beforeAll(() => {
    t = tempDir("arbor-debian-");
    stage = join(t.dir, "stage");
    timed("prepare (cp -al + OSTree layout)", () => {
      expect(spawnSync("cp", ["-al", CORPUS, stage]).status).toBe(0);
      renameSync(join(stage, "etc"), join(stage, "usr/etc"));
      kver = readdirSync(join(stage, "usr/lib/modules"))[0]!;
      const mod = join(stage, "usr/lib/modules", kver);
      expect(spawnSync("cp", [join(stage, "boot", `vmlinuz-${kver}`), join(mod, "vmlinuz")]).status).toBe(0);
      expect(
        spawnSync("cp", [join(stage, "boot", `initrd.img-${kver}`), join(mod, "initramfs.img")]).status,
      ).toBe(0);
    });
    sysroot = join(t.dir, "sysroot");
    mkdirSync(sysroot);
    admin(["init-fs", sysroot]);
    admin(["os-init", "debian"]);
  }, 600_000);
  afterAll(() => t?.cleanup());

  it("commits, deploys, upgrades and rolls back", () => {
    const v1 = timed("arbor commit (v1)", () =>
      ok(
        arbor([
          "commit",
          repoArg(),
          "-b",
          "debian/stable",
          "--add-metadata-string=version=12.1",
          "-s",
          "v1",
          stage,
        ]),
      ),
    );
    timed("arbor admin deploy (first)", () =>
      admin(["deploy", "--os=debian", "--karg=root=LABEL=root", "debian/stable"]),
    );
    const entry = readFileSync(join(sysroot, "boot/loader/entries/ostree-1-debian.conf"), "utf8");
    expect(entry).toMatch(/^title Debian GNU\/Linux 12 \(bookworm\) 12\.1 \(ostree:0\)\n/);
    expect(entry).toContain(`linux /ostree/debian-`);
    expect(entry).toContain(`/vmlinuz-${kver}\n`);
    const d1 = admin(["--print-current-dir"]);
    expect(readFileSync(join(d1, "etc/debian_version"), "utf8")).toMatch(/^12/);
    expect(ok(ostree(["admin", "status", `--sysroot=${sysroot}`]))).toContain(`debian ${v1}.0`);

    // v2: one more file and a changed default, layered on v1 (no re-hash of the whole tree)
    const extra = join(t.dir, "v2");
    mkdirSync(join(extra, "usr/share/arbor-v2"), { recursive: true });
    mkdirSync(join(extra, "usr/etc"), { recursive: true });
    writeFileSync(join(extra, "usr/share/arbor-v2/hello"), "v2\n");
    writeFileSync(join(extra, "usr/etc/motd"), "v2 motd\n");
    const v2 = ok(
      arbor([
        "commit",
        repoArg(),
        "-b",
        "debian/stable",
        "--add-metadata-string=version=12.2",
        "-s",
        "v2",
        "--tree=ref=debian/stable",
        `--tree=dir=${extra}`,
      ]),
    );
    writeFileSync(join(d1, "etc/hostname"), "arbor-host\n");
    timed("arbor admin upgrade (v1 → v2)", () => admin(["upgrade", "--os=debian"]));
    const d2 = admin(["--print-current-dir"]);
    expect(d2).toContain(`${v2}.0`);
    expect(readFileSync(join(d2, "etc/hostname"), "utf8")).toBe("arbor-host\n");
    expect(readFileSync(join(d2, "etc/motd"), "utf8")).toBe("v2 motd\n");
    expect(existsSync(join(d2, "usr/share/arbor-v2/hello"))).toBe(true);
    const st = ok(ostree(["admin", "status", `--sysroot=${sysroot}`]));
    expect(st.split("\n")[0]).toBe(`debian ${v2}.0`);

    timed("arbor admin rollback", () => admin(["rollback"]));
    expect(admin(["--print-current-dir"])).toContain(`${v1}.0`);
    expect(ok(ostree(["admin", "status", `--sysroot=${sysroot}`])).split("\n")[0]).toBe(`debian ${v1}.0`);
  }, 1_800_000);
});
