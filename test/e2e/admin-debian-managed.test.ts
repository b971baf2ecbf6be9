/**
 * The managed layer on a real Debian root filesystem (issue 5, "Real, and fast"), through bin/arbor:
 * compose the `full` corpus from a folder (twice: --dry-run gives the same checksum), deploy,
 * declare layers (an /etc drop-in, a /usr tool), edit a unit in /usr in place (drift), upgrade
 * to a second image (the edit is gone, the layers stay, the local /etc edit is carried), drift in
 * content and quick mode, capture the /etc edit into a layer, verify; the real `ostree admin
 * status` reads the sysroot at each step. Each step's time is printed.
 *
 * Slow (a 700 MB tree): runs only with ARBOR_SLOW_TESTS=1 and the corpus present:
 *   ../shared/tools/make-corpus.sh /var/tmp/arbor-corpus/full full
 *   npm run build && ARBOR_SLOW_TESTS=1 npx vitest run test/e2e/admin-debian-managed.test.ts
 * (ARBOR_CORPUS_DIR overrides /var/tmp/arbor-corpus.)
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

const CORPUS = join(process.env.ARBOR_CORPUS_DIR ?? "/var/tmp/arbor-corpus", "full");
const enabled =
  process.env.ARBOR_SLOW_TESTS === "1" && existsSync(join(CORPUS, ".corpus-complete")) && hasOstree;
const ENV = { OSTREE_SYSROOT_DEBUG: "mutable-deployments" };
const UNIT = "usr/lib/systemd/system/ssh.service";
const DROP_IN = "etc/systemd/system/ssh.service.d/arbor.conf";

function timed<T>(what: string, fn: () => T): T {
  const t0 = Date.now();
  const r = fn();
  console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return r;
}

type Item = { path: string; change: string; kinds?: string[] };
type Report = {
  etc: Item[];
  image: Item[];
  corruption: Item[];
  var: string[];
  declared: Array<{ path: string; layer: string; kind: string }>;
  checked: number;
  base: string;
  commit: string;
};

describe.skipIf(!enabled)(
  "Debian rootfs, managed: compose, deploy, layers, upgrade, drift, capture, verify",
  () => {
    let t: ReturnType<typeof tempDir>;
    let sysroot: string;
    const a = (args: string[]) => arbor(args, { env: ENV, cwd: t.dir });
    const adm = (...args: string[]) => a(["admin", ...args, `--sysroot=${sysroot}`, "--os=debian"]);
    const repoArg = () => `--repo=${join(sysroot, "ostree/repo")}`;
    const current = () => ok(a(["admin", "--print-current-dir", `--sysroot=${sysroot}`]));
    const drift = (...args: string[]): { code: number; report: Report } => {
      const r = adm("drift", "--json", ...args);
      if (r.code === 2) throw new Error(r.stderr);
      return { code: r.code, report: JSON.parse(r.stdout) as Report };
    };
    const status = () => ok(ostree(["admin", "status", `--sysroot=${sysroot}`]));

    beforeAll(() => {
      t = tempDir("arbor-debian-managed-");
      sysroot = join(t.dir, "sysroot");
      mkdirSync(sysroot);
      ok(a(["admin", "init-fs", sysroot]), "init-fs");
      ok(a(["admin", "os-init", "debian", `--sysroot=${sysroot}`]), "os-init");
      writeFileSync(
        join(t.dir, "v1.yaml"),
        `ref: debian/stable\nversion: "12.1"\nsource_date_epoch: 1700000000\ninputs:\n  - dir: ${CORPUS}\n`,
      );
      // v2: the v1 image plus a new file and a changed unit default, as a layer (no re-hash)
      mkdirSync(join(t.dir, "v2/usr/share/arbor-v2"), { recursive: true });
      mkdirSync(join(t.dir, "v2/usr/lib/systemd/system"), { recursive: true });
      writeFileSync(join(t.dir, "v2/usr/share/arbor-v2/hello"), "v2\n");
      writeFileSync(join(t.dir, "v2", UNIT), `${readFileSync(join(CORPUS, UNIT), "utf8")}# v2\n`);
      writeFileSync(
        join(t.dir, "v2.yaml"),
        'ref: debian/stable\nversion: "12.2"\nsource_date_epoch: 1700100000\ninputs:\n  - ref: debian/stable\nlayers:\n  - dir: v2\npostprocess: none\n',
      );
      // declared layers: a systemd drop-in in /etc, a tool in /usr
      mkdirSync(join(t.dir, "layer-ssh", "etc/systemd/system/ssh.service.d"), { recursive: true });
      writeFileSync(join(t.dir, "layer-ssh", DROP_IN), "[Service]\nEnvironment=ARBOR=1\n");
      mkdirSync(join(t.dir, "layer-tools/usr/local/bin"), { recursive: true });
      writeFileSync(join(t.dir, "layer-tools/usr/local/bin/hello"), "#!/bin/sh\necho hello\n", {
        mode: 0o755,
      });
    }, 600_000);
    afterAll(() => {
      if (t) spawnSync("chattr", ["-R", "-f", "-i", t.dir]);
      t?.cleanup();
    });

    it("runs the whole managed cycle", () => {
      const dry = timed("compose --dry-run (v1)", () =>
        ok(a(["compose", repoArg(), "--dry-run", "v1.yaml"]), "compose --dry-run"),
      );
      const v1 = timed("compose (v1)", () => ok(a(["compose", repoArg(), "v1.yaml"]), "compose"));
      expect(v1).toBe(dry);
      timed("admin deploy", () => ok(adm("deploy", "--karg=root=LABEL=root", "debian/stable"), "deploy"));
      expect(status()).toContain(`debian ${v1}.0`);
      let d = current();
      expect(readFileSync(join(d, "etc/debian_version"), "utf8")).toMatch(/^12/);
      expect(existsSync(join(d, "usr/etc/ssh/sshd_config"))).toBe(true);
      let r = timed("admin drift (content, fresh deployment)", () => drift());
      expect(r.report.image).toEqual([]);
      expect(r.report.corruption).toEqual([]);
      expect(r.report.etc).toEqual([]);
      expect(r.report.checked).toBeGreaterThan(10_000);
      expect(r.code).toBe(0);

      timed("admin layer add ssh-dropin", () =>
        ok(adm("layer", "add", "ssh-dropin", join(t.dir, "layer-ssh")), "layer add"),
      );
      timed("admin layer add tools", () =>
        ok(adm("layer", "add", "tools", join(t.dir, "layer-tools")), "layer add"),
      );
      d = current();
      expect(readFileSync(join(d, DROP_IN), "utf8")).toContain("ARBOR=1");
      expect(existsSync(join(d, "usr/local/bin/hello"))).toBe(true);
      // unmanaged changes: a unit in /usr edited in place, a local /etc edit
      expect(spawnSync("sed", ["-i", "s/^Restart=.*/Restart=always/", join(d, UNIT)]).status).toBe(0);
      writeFileSync(join(d, "etc/hostname"), "arbor-host\n");
      r = timed("admin drift (content, with drift)", () => drift());
      expect(r.code).toBe(1);
      expect(r.report.image).toEqual([{ path: `/${UNIT}`, change: "modified", kinds: ["content"] }]);
      expect(r.report.etc).toEqual([{ path: "/etc/hostname", change: "modified", kinds: ["content"] }]);
      expect(r.report.declared.map((x) => x.path)).toEqual([`/${DROP_IN}`, "/usr/local/bin/hello"]);
      expect(timed("admin drift --quick", () => drift("--quick")).report.image.map((i) => i.path)).toEqual([
        `/${UNIT}`,
      ]);

      const v2 = timed("compose (v2: ref + layer)", () =>
        ok(a(["compose", repoArg(), "v2.yaml"]), "compose v2"),
      );
      const plan = JSON.parse(ok(adm("upgrade", "--check", "--json")));
      expect(plan.changed).toBe(true);
      expect(plan.files.added).toContain("/usr/share/arbor-v2/hello");
      timed("admin upgrade (v2 ⊕ layers)", () => ok(adm("upgrade"), "upgrade"));
      d = current();
      expect(readFileSync(join(d, UNIT), "utf8")).toMatch(/# v2\n$/);
      expect(readFileSync(join(d, UNIT), "utf8")).not.toContain("Restart=always");
      expect(readFileSync(join(d, DROP_IN), "utf8")).toContain("ARBOR=1");
      expect(readFileSync(join(d, "etc/hostname"), "utf8")).toBe("arbor-host\n");
      r = timed("admin drift (content, after upgrade)", () => drift());
      expect(r.report.base).toBe(v2);
      expect(r.report.image).toEqual([]);
      expect(r.report.etc).toEqual([{ path: "/etc/hostname", change: "modified", kinds: ["content"] }]);

      timed("admin drift capture", () =>
        ok(adm("drift", "capture", "--layer=local", "/etc/hostname"), "drift capture"),
      );
      r = timed("admin drift (content, after capture)", () => drift());
      expect(r.code).toBe(0);
      expect(r.report.declared).toContainEqual({ path: "/etc/hostname", layer: "local", kind: "file" });
      expect(timed("admin drift --quick (clean)", () => drift("--quick")).code).toBe(0);
      const verified = timed("admin verify", () => adm("verify"));
      expect(verified.code, verified.stdout + verified.stderr).toBe(0);
      expect(verified.stdout).toContain("Verified");
      expect(status().split("\n")[0]).toMatch(/^\* debian [0-9a-f]{64}\.0$|^debian [0-9a-f]{64}\.0$/);
    }, 3_600_000);
  },
);
