/**
 * `remote add|delete --sysroot=PATH`: the repository is PATH/ostree/repo; a physical sysroot keeps
 * remotes in the repo config, a deployment root (it has `sysroot`) in PATH/etc/ostree/remotes.d —
 * the same files the real ostree writes for the same commands.
 */
import { existsSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

describe.skipIf(!hasOstree)("remote add/delete --sysroot", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(() => {
    t = tempDir("arbor-remote-sysroot-");
  });
  afterAll(async () => {
    await t.cleanup();
  });

  /** A physical sysroot and a deployment-root-like folder pointing at it. */
  function layout(name: string): { phys: string; deploy: string } {
    const phys = join(t.dir, name, "phys");
    mkdirSync(phys, { recursive: true });
    ok(ostree(["admin", "init-fs", phys]));
    const deploy = join(t.dir, name, "deploy");
    mkdirSync(join(deploy, "ostree/deploy"), { recursive: true });
    symlinkSync("/", join(deploy, "sysroot"));
    symlinkSync(join(phys, "ostree/repo"), join(deploy, "ostree/repo"));
    return { phys, deploy };
  }

  it("writes what ostree writes, then deletes it", () => {
    const files: Record<string, string[]> = {};
    for (const [tool, run] of [
      ["ostree", ostree],
      ["arbor", arbor],
    ] as const) {
      const { phys, deploy } = layout(tool);
      ok(run(["remote", "add", `--sysroot=${phys}`, "--no-gpg-verify", "r1", "http://example.com/r1"]));
      ok(run(["remote", "add", `--sysroot=${deploy}`, "--no-gpg-verify", "r2", "http://example.com/r2"]));
      const conf = join(deploy, "etc/ostree/remotes.d/r2.conf");
      files[tool] = [readFileSync(join(phys, "ostree/repo/config"), "utf8"), readFileSync(conf, "utf8")];
      ok(run(["remote", "delete", `--sysroot=${deploy}`, "r2"]));
      expect(existsSync(conf)).toBe(false);
      ok(run(["remote", "delete", `--sysroot=${phys}`, "r1"]));
      expect(readFileSync(join(phys, "ostree/repo/config"), "utf8")).not.toContain("r1");
    }
    expect(files.arbor).toEqual(files.ostree);
    expect(files.arbor![0]).toContain('[remote "r1"]');
  });
});
