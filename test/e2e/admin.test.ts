/**
 * `arbor admin` as a user runs it: status (text and JSON), config-diff (and --stale), rollback,
 * set-default, pin, the `--os` rule outside a booted system, `--reboot` and `unlock` refusals,
 * usage errors, and a second command waiting for the sysroot lock.
 * Run `npm run build` first.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARBOR, arbor, hasOstree, ok, ostree } from "../helpers/cli.js";
import { commitOs, MUTABLE_ENV, makeOsTree, makeSysroot, tempDir } from "../unit/sysroot/_fixtures.js";

const ENV = { ...MUTABLE_ENV, ARBOR_UNSAFE_NO_SYNC: "1" };

/** The CLI runs dist-cjs/ (`npm run build`). */
const built = existsSync(join(import.meta.dirname, "../../dist-cjs/cli/main.js"));

describe.skipIf(!built)("arbor admin (CLI)", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  let v1: string;
  let v2: string;
  const a = (args: string[]) => arbor(["admin", ...args, `--sysroot=${path}`], { env: ENV });

  beforeAll(async () => {
    t = tempDir("arbor-admin-e2e-");
    path = makeSysroot(t.dir);
    makeOsTree(join(t.dir, "t1"), { etc: { "daemon.conf": "x=1\n" } });
    makeOsTree(join(t.dir, "t2"), { etc: { "daemon.conf": "x=2\n", "added.conf": "new\n" } });
    v1 = await commitOs(join(path, "ostree/repo"), join(t.dir, "t1"), { version: "1.0", timestamp: 1000 });
    v2 = await commitOs(join(path, "ostree/repo"), join(t.dir, "t2"), { version: "2.0", timestamp: 2000 });
  });
  afterAll(() => t.cleanup());

  it("refuses to pick a stateroot outside a booted system without --os", () => {
    const r = a(["deploy", v1]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "error: Looking for booted deployment: Not currently booted into an OSTree system and no --os= argument given\n",
    );
    expect(a(["config-diff"]).stderr).toContain(
      "Not currently booted into an OSTree system and no --os= argument given",
    );
    expect(a(["upgrade"]).stderr).toContain(
      "Not currently booted into an OSTree system and no --os= argument given",
    );
  });

  it("deploys and prints status as ostree does, and as JSON", () => {
    ok(a(["deploy", "--os=testos", "--karg=root=LABEL=root", v1]));
    const out = ok(a(["deploy", "--os=testos", "testos/stable"]));
    expect(out).toContain("Copying /etc changes: 0 modified, 0 removed, 0 added");
    const st = a(["status"]).stdout;
    expect(st).toBe(
      `  testos ${v2}.0\n    Version: 2.0\n    origin refspec: testos/stable\n  testos ${v1}.0\n    Version: 1.0\n    origin refspec: ${v1}\n`,
    );
    if (hasOstree) expect(ok(ostree(["admin", "status", `--sysroot=${path}`]))).toBe(st.trim());
    const j = JSON.parse(a(["status", "--json"]).stdout);
    expect(j).toMatchObject({ apiVersion: "arbor/v1", kind: "SysrootStatus", bootversion: 0 });
    expect(j.deployments[0]).toMatchObject({
      index: 0,
      stateroot: "testos",
      checksum: v2,
      version: "2.0",
      pinned: false,
    });
  });

  it("config-diff lists local /etc changes; --stale only those that hide a changed default", () => {
    const dir = ok(a(["--print-current-dir"]));
    expect(dir).toBe(join(path, `ostree/deploy/testos/deploy/${v2}.0`));
    writeFileSync(join(dir, "etc/foo.conf"), "a=LOCAL\n");
    writeFileSync(join(dir, "etc/daemon.conf"), "x=LOCAL\n");
    writeFileSync(join(dir, "etc/mine.conf"), "mine\n");
    rmSync(join(dir, "etc/sub"), { recursive: true });
    const diff = a(["config-diff", "--os=testos"]).stdout.split("\n").filter(Boolean).sort();
    expect(diff).toEqual(["A    mine.conf", "D    sub", "M    daemon.conf", "M    foo.conf"]);
    // against v1's defaults only daemon.conf changed (x=1 → x=2): that edit shadows an update
    expect(ok(a(["config-diff", "--os=testos", "--stale", `--rev=${v1}`]))).toBe("M    daemon.conf");
    const j = JSON.parse(a(["config-diff", "--os=testos", "--stale", `--rev=${v1}`, "--json"]).stdout);
    expect(j).toMatchObject({
      kind: "StaleConfig",
      target: v1,
      stale: [{ path: "daemon.conf", local: "M" }],
    });
  });

  it("rollback and set-default change the default deployment", () => {
    expect(ok(a(["rollback"]))).toContain(`Default deployment is now testos ${v1}.0`);
    expect(a(["status"]).stdout.split("\n")[0]).toBe(`  testos ${v1}.0`);
    ok(a(["set-default", "1"]));
    expect(a(["status"]).stdout.split("\n")[0]).toBe(`  testos ${v2}.0`);
  });

  it("pin and unpin say what they did", () => {
    expect(ok(a(["pin", "1"]))).toBe("Deployment 1 is now pinned");
    expect(ok(a(["pin", "1"]))).toBe("Deployment 1 is already pinned");
    expect(a(["status"]).stdout).toContain("Pinned: yes");
    expect(ok(a(["pin", "--unpin", "1"]))).toBe("Deployment 1 is now unpinned");
  });

  it("refuses --reboot, unlock and --stage outside a booted system, with clear errors", () => {
    const r = a(["upgrade", "--os=testos", "--reboot"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: Cannot reboot: not running in the booted system/);
    expect(a(["unlock"]).stderr).toBe("error: Not currently booted into an OSTree system\n");
    expect(a(["deploy", "--stage", "--os=testos", v1]).stderr).toContain(
      "Cannot stage deployment: Not currently booted into an OSTree system",
    );
  });

  it.skipIf(existsSync("/run/ostree-booted"))(
    "boot-complete and finalize-staged do nothing outside a booted system (as ostree)",
    () => {
      for (const verb of ["boot-complete", "finalize-staged"]) {
        const r = a([verb]);
        expect(r.code).toBe(0);
        expect(r.stdout + r.stderr).toBe("");
      }
    },
  );

  it("upgrade --deploy-only reports when nothing changed", () => {
    expect(ok(a(["upgrade", "--os=testos", "--deploy-only"]))).toBe("No update available.");
  });

  it("usage errors print help and exit 1 like ostree; undeploy checks the index", () => {
    const r = a(["undeploy"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("INDEX must be specified");
    expect(a(["undeploy", "9"]).stderr).toBe("error: Out of range deployment index 9, expected < 2\n");
  });

  it("a second admin command waits for the sysroot lock and says so", async () => {
    const { lockSysroot } = await import("../../src/sysroot/lock.js");
    const lock = await lockSysroot(path);
    const child = spawn(ARBOR, ["admin", "cleanup", `--sysroot=${path}`], {
      env: { ...process.env, ...ENV },
    });
    let stderr = "";
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    await new Promise((r) => setTimeout(r, 1500));
    expect(stderr).toContain("Waiting for sysroot lock");
    expect(stderr).toContain("ostree/lock");
    lock.release();
    expect(await exited).toBe(0);
    expect(readFileSync(join(path, "boot/loader/entries/ostree-2-testos.conf"), "utf8")).toContain("ostree=");
  });
});
