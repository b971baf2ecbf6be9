/**
 * The managed layer end to end, through bin/arbor, on a small fake OS (docs/managed.md walks
 * through the same story):
 *  - images are composed reproducibly from a manifest into a "remote" repository;
 *  - a unit file in /usr edited in place is drift, and gone after an upgrade;
 *  - the same change as a systemd drop-in in an /etc layer survives every upgrade and is declared;
 *  - layer conflicts are refused unless a priority says who wins;
 *  - drift exit codes (0 clean, 1 drift, 2 error), capture, verify, upgrade --check;
 *  - a file written through its hardlink is reported as repository corruption.
 * Run `npm run build` first.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Sysroot } from "../../src/sysroot/sysroot.js";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

const ENV = { OSTREE_SYSROOT_DEBUG: "mutable-deployments", ARBOR_UNSAFE_NO_SYNC: "1" };
const UNIT = "usr/lib/systemd/system/app.service";

describe("managed: compose, layers, drift, capture, verify", () => {
  let t: ReturnType<typeof tempDir>;
  let sysroot: string;
  let remote: string;
  const a = (...args: string[]) => arbor(args, { env: ENV, cwd: t.dir });
  const adm = (...args: string[]) => a("admin", ...args, `--sysroot=${sysroot}`, "--os=testos");
  /** The default deployment's directory. */
  const deployDir = (): string => {
    const s = Sysroot.load(sysroot, { env: ENV });
    return s.deploymentPath(s.deployments[0]!);
  };
  const drift = (...args: string[]) => {
    const r = adm("drift", "--json", ...args);
    if (r.code === 2) throw new Error(r.stderr);
    return {
      code: r.code,
      report: JSON.parse(r.stdout) as Record<string, unknown> & {
        etc: Item[];
        image: Item[];
        corruption: Item[];
        var: string[];
        declared: Array<{ path: string; layer: string }>;
      },
    };
  };
  type Item = { path: string; change: string; kinds?: string[]; layer?: string };

  /** Write the fake OS of `version` as a plain rootfs (postprocess puts it in OSTree layout). */
  function makeRootfs(dir: string, version: number): void {
    const files: Record<string, string> = {
      "etc/os-release": `NAME=TestOS\nID=testos\nVERSION_ID=${version}\nPRETTY_NAME="Test OS ${version}"\n`,
      "etc/motd": version >= 3 ? "Welcome to v3\n" : "Welcome\n",
      "etc/foo.conf": "a=1\n",
      [UNIT]: "[Service]\nExecStart=/usr/bin/app\n",
      "usr/bin/app": `#!/bin/sh\necho app ${version}\n`,
      "boot/vmlinuz-6.1.0": "KERNEL\n",
      "boot/initrd.img-6.1.0": "INITRD\n",
      "usr/lib/tmpfiles.d/app.conf": "d /var/lib/app 0755 root root -\n",
      "var/lib/app/seed": "seed\n",
    };
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), text, { mode: rel.startsWith("usr/bin") ? 0o755 : 0o644 });
    }
  }

  function compose(version: number): string {
    const root = join(t.dir, `rootfs-${version}`);
    makeRootfs(root, version);
    writeFileSync(
      join(t.dir, `v${version}.yaml`),
      `ref: testos/stable\nversion: "${version}"\nsource_date_epoch: ${1700000000 + version}\ninputs:\n  - dir: rootfs-${version}\nnormalize: {owner: root}\n`,
    );
    return ok(a("compose", `--repo=${remote}`, `v${version}.yaml`), "compose");
  }

  beforeAll(() => {
    t = tempDir("arbor-managed-e2e-");
    sysroot = join(t.dir, "sysroot");
    remote = join(t.dir, "remote");
    mkdirSync(sysroot);
    ok(a("init", `--repo=${remote}`, "--mode=archive"), "init");
    ok(a("admin", "init-fs", "--modern", sysroot), "init-fs");
    ok(a("admin", "os-init", `--sysroot=${sysroot}`, "testos"), "os-init");
    const repo = `--repo=${join(sysroot, "ostree/repo")}`;
    ok(a("remote", "add", repo, "--no-gpg-verify", "origin", `file://${remote}`), "remote add");
  });
  afterAll(() => t?.cleanup());

  it("composes reproducibly: --dry-run, other folders and times give the same checksum", () => {
    makeRootfs(join(t.dir, "copy-a"), 1);
    cpSync(join(t.dir, "copy-a"), join(t.dir, "rootfs-1"), { recursive: true });
    spawnSync("touch", ["-d", "2001-01-01", join(t.dir, "rootfs-1", UNIT)]);
    writeFileSync(
      join(t.dir, "dry.yaml"),
      "ref: testos/stable\nversion: '1'\nsource_date_epoch: 1700000001\ninputs:\n  - dir: copy-a\nnormalize: {owner: root}\n",
    );
    const dry = ok(a("compose", `--repo=${remote}`, "--dry-run", "dry.yaml"));
    expect(ok(a("refs", `--repo=${remote}`))).toBe("");
    const v1 = compose(1);
    expect(v1).toBe(dry);
    expect(ok(a("compose", `--repo=${remote}`, "--dry-run", "dry.yaml"))).toBe(v1);
    const bad = a("compose", `--repo=${remote}`, "nope.yaml");
    expect(bad.code).not.toBe(0);
    writeFileSync(join(t.dir, "bad.yaml"), "ref: x\nversion: 1\nsource_date_epoch: 1\ninputs:\n  - tar: 7\n");
    expect(a("compose", `--repo=${remote}`, "bad.yaml").stderr).toContain("inputs[0].tar: must be string");
  });

  it("a /usr unit edited in place is drift, and gone after an upgrade", () => {
    ok(a("pull", `--repo=${join(sysroot, "ostree/repo")}`, "origin", "testos/stable"), "pull");
    ok(adm("deploy", "origin:testos/stable"), "deploy");
    expect(drift().code).toBe(0);
    expect(adm("drift").stdout).toContain("No drift");
    const d1 = deployDir();
    // an admin's "quick fix": sed -i writes a new file over the unit
    expect(
      spawnSync("sed", ["-i", "s|ExecStart=/usr/bin/app|ExecStart=/usr/bin/app --debug|", join(d1, UNIT)])
        .status,
    ).toBe(0);
    const r = drift();
    expect(r.code).toBe(1);
    expect(r.report.image).toEqual([{ path: `/${UNIT}`, change: "modified", kinds: ["content"] }]);
    expect(drift("--quick").report.image.map((i) => i.path)).toEqual([`/${UNIT}`]);
    const human = adm("drift");
    expect(human.code).toBe(1);
    expect(human.stdout).toContain(`Image (outside /etc and /var):\n  M /${UNIT} (content)`);
    expect(adm("verify").code).toBe(1);

    const check = adm("upgrade", "--check");
    expect(check.stdout).toBe("No update available.\n");
    compose(2);
    const plan = JSON.parse(ok(adm("upgrade", "--check", "--json")));
    expect(plan.kind).toBe("UpgradeCheck");
    expect(plan.changed).toBe(true);
    expect(plan.files.modified).toContain("/usr/bin/app");
    expect(plan.download.objects).toBeGreaterThan(0);
    ok(adm("upgrade"), "upgrade");
    const d2 = deployDir();
    expect(d2).not.toBe(d1);
    expect(readFileSync(join(d2, UNIT), "utf8")).toBe("[Service]\nExecStart=/usr/bin/app\n");
    expect(drift().code).toBe(0);
  });

  it("the same change as a drop-in in an /etc layer survives every upgrade and is declared", () => {
    const layer = join(t.dir, "layer-debug/etc/systemd/system/app.service.d");
    mkdirSync(layer, { recursive: true });
    writeFileSync(join(layer, "debug.conf"), "[Service]\nExecStart=\nExecStart=/usr/bin/app --debug\n");
    ok(adm("layer", "add", "debug", join(t.dir, "layer-debug")), "layer add");
    const dropIn = "etc/systemd/system/app.service.d/debug.conf";
    for (const v of [3, 4]) {
      const d = deployDir();
      expect(readFileSync(join(d, dropIn), "utf8")).toContain("--debug");
      const r = drift();
      expect(r.code).toBe(0);
      expect(r.report.declared).toEqual([{ path: `/${dropIn}`, layer: "debug", kind: "file" }]);
      expect(ok(adm("verify"))).toContain("Verified");
      expect(ok(adm("layer", "list"))).toMatch(/^debug {2}[0-9a-f]{64} {2}deployed$/);
      compose(v);
      ok(adm("upgrade"), `upgrade to v${v}`);
    }
    expect(readFileSync(join(deployDir(), dropIn), "utf8")).toContain("--debug");
    expect(readFileSync(join(deployDir(), "etc/os-release"), "utf8")).toContain("VERSION_ID=4");
    if (hasOstree) expect(ostree(["admin", "status", `--sysroot=${sysroot}`]).code).toBe(0);
  });

  it("refuses conflicting layers unless a priority says which wins", () => {
    const other = join(t.dir, "layer-other/etc/systemd/system/app.service.d");
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, "debug.conf"), "[Service]\nNice=5\n");
    const before = deployDir();
    const r = adm("layer", "add", "other", join(t.dir, "layer-other"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"/usr/etc/systemd/system/app.service.d/debug.conf" ("debug", "other")');
    expect(deployDir()).toBe(before);
    expect(ok(adm("layer", "list"))).not.toContain("other");
    ok(
      adm("layer", "add", "other", join(t.dir, "layer-other"), "--layer-priority=other"),
      "layer add with priority",
    );
    expect(readFileSync(join(deployDir(), "etc/systemd/system/app.service.d/debug.conf"), "utf8")).toBe(
      "[Service]\nNice=5\n",
    );
    expect(ok(adm("verify"))).toContain("Verified");
    ok(adm("layer", "remove", "other"), "layer remove");
    expect(readFileSync(join(deployDir(), "etc/systemd/system/app.service.d/debug.conf"), "utf8")).toContain(
      "--debug",
    );
    expect(ok(adm("layer", "list"))).not.toContain("other");
  });

  it("admin switch derives the new ref with the same declared layers, and back", () => {
    const root = join(t.dir, "rootfs-5");
    makeRootfs(root, 5);
    writeFileSync(
      join(t.dir, "other.yaml"),
      "ref: testos/other\nversion: '5'\nsource_date_epoch: 1700000005\ninputs:\n  - dir: rootfs-5\nnormalize: {owner: root}\n",
    );
    const other = ok(a("compose", `--repo=${remote}`, "other.yaml"), "compose other");
    const dropIn = "etc/systemd/system/app.service.d/debug.conf";
    for (const [refspec, version] of [
      ["origin:testos/other", "5"],
      ["origin:testos/stable", "4"],
    ] as const) {
      const before = deployDir();
      ok(adm("switch", refspec), `switch to ${refspec}`);
      const d = deployDir();
      expect(d).not.toBe(before);
      expect(readFileSync(join(d, "etc/os-release"), "utf8")).toContain(`VERSION_ID=${version}`);
      expect(readFileSync(join(d, dropIn), "utf8")).toContain("--debug");
      const s = Sysroot.load(sysroot, { env: ENV });
      const origin = readFileSync(`${s.deploymentPath(s.deployments[0]!)}.origin`, "utf8");
      expect(origin).toContain(`refspec=${refspec}`);
      expect(origin).toMatch(/\[arbor\]\nlayers=debug;/);
      const r = drift();
      expect(r.code).toBe(0);
      expect(r.report.base).toBe(version === "5" ? other : r.report.base);
      expect(r.report.commit).not.toBe(r.report.base);
      expect(r.report.declared).toContainEqual({ path: `/${dropIn}`, layer: "debug", kind: "file" });
      expect(ok(adm("verify"))).toContain("Verified");
    }
  });

  it("drift finds /etc, /var and corruption; capture declares it; exit 2 on errors", () => {
    const d = deployDir();
    writeFileSync(join(d, "etc/foo.conf"), "a=2\n");
    rmSync(join(d, "etc/motd"));
    const varDir = join(sysroot, "ostree/deploy/testos/var");
    mkdirSync(join(varDir, "opt-junk"));
    mkdirSync(join(varDir, "lib/app/cache"), { recursive: true });
    let r = drift();
    expect(r.code).toBe(1);
    expect(r.report.etc).toEqual([
      { path: "/etc/foo.conf", change: "modified", kinds: ["content"] },
      { path: "/etc/motd", change: "removed" },
    ]);
    expect(r.report.var).toEqual(["/var/opt-junk"]);
    expect(adm("drift", "--deployment=99").code).toBe(2);

    const cap = adm("drift", "capture", "--layer=local", "/etc/foo.conf", "/etc/motd");
    expect(cap.code, cap.stderr).toBe(0);
    r = drift();
    expect(r.report.etc).toEqual([]);
    expect(r.report.declared).toContainEqual({ path: "/etc/foo.conf", layer: "local", kind: "file" });
    expect(r.report.declared).toContainEqual({ path: "/etc/motd", layer: "local", kind: "whiteout" });
    expect(r.report.var).toEqual(["/var/opt-junk"]);
    // the allowlist, declared in a layer, makes /var content declared
    const allow = join(t.dir, "layer-allow/etc/arbor");
    mkdirSync(allow, { recursive: true });
    writeFileSync(join(allow, "var-allowlist"), "# admin-owned state\n/var/opt-junk\n");
    ok(adm("layer", "add", "allow", join(t.dir, "layer-allow")), "allowlist layer");
    expect(drift().code).toBe(0);
    expect(adm("drift", "capture", "--layer=x", "/var/opt-junk").code).toBe(2);

    // writing through a hardlink changes the repository object itself
    const app = join(deployDir(), "usr/bin/app");
    appendFileSync(app, "# patched\n");
    r = drift();
    expect(r.code).toBe(1);
    expect(r.report.corruption).toEqual([{ path: "/usr/bin/app", change: "modified", kinds: ["content"] }]);
    expect(r.report.image).toEqual([]);
    expect(drift("--quick").report.corruption.map((i) => i.path)).toEqual(["/usr/bin/app"]);
    const v = adm("verify");
    expect(v.code).toBe(1);
    expect(v.stdout).toContain("changed in place (corruption): /usr/bin/app");
  });
});
