import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { native } from "../../../src/io/native.js";
import { cleanupSysroot } from "../../../src/sysroot/cleanup.js";
import { Sysroot } from "../../../src/sysroot/sysroot.js";
import { commitOs, deployFirst, makeOsTree, makeSysroot, tempDir } from "./_fixtures.js";

describe("cleanupSysroot()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  let rev: string;
  beforeEach(async () => {
    t = tempDir();
    path = makeSysroot(t.dir);
    makeOsTree(join(t.dir, "tree"));
    rev = await commitOs(join(path, "ostree/repo"), join(t.dir, "tree"));
    const s = Sysroot.load(path);
    await deployFirst(s, rev);
  });
  afterEach(() => t.cleanup());

  it("removes unreferenced (sealed) deployments, stale boot dirs, bootversions and temp files", async () => {
    const s = Sysroot.load(path);
    const live = s.deploymentPath(s.deployments[0]!);
    // garbage an interrupted deploy could leave
    const orphan = join(path, `ostree/deploy/testos/deploy/${rev}.7`);
    mkdirSync(join(orphan, "usr"), { recursive: true });
    writeFileSync(`${orphan}.origin`, "[origin]\nrefspec=x\n");
    native().setInodeFlags(orphan, native().getInodeFlags(orphan) | 0x10);
    writeFileSync(join(path, "ostree/deploy/testos/deploy", `.${rev}.7.origin.tmp-0123456789ab`), "");
    mkdirSync(join(path, `boot/ostree/testos-${"f".repeat(64)}`), { recursive: true });
    mkdirSync(join(path, "boot/loader.0/entries"), { recursive: true });
    mkdirSync(join(path, "ostree/boot.1.0"), { recursive: true });
    await cleanupSysroot(s, { prune: true });
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(`${orphan}.origin`)).toBe(false);
    expect(readdirSync(join(path, "ostree/deploy/testos/deploy")).sort()).toEqual([
      `${rev}.0`,
      `${rev}.0.origin`,
    ]);
    expect(existsSync(join(path, `boot/ostree/testos-${"f".repeat(64)}`))).toBe(false);
    expect(existsSync(join(path, "boot/loader.0"))).toBe(false);
    expect(existsSync(join(path, "ostree/boot.1.0"))).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(native().getInodeFlags(live) & 0x10).toBe(0x10); // still sealed
  });

  it("prune keeps deployed commits and deletes unreferenced ones", async () => {
    makeOsTree(join(t.dir, "tree2"), { kernel: "other\n" });
    const stray = await commitOs(join(path, "ostree/repo"), join(t.dir, "tree2"), { branch: "tmp/stray" });
    const { writeRefFile } = await import("../../../src/repo/refs.js");
    const { Repo } = await import("../../../src/repo/repo.js");
    const repo = Repo.open(join(path, "ostree/repo"));
    writeRefFile(repo, "tmp/stray", null);
    writeRefFile(repo, "testos/stable", null);
    const messages: string[] = [];
    await cleanupSysroot(Sysroot.load(path), { prune: true, onMessage: (m) => messages.push(m) });
    expect(repo.hasObject("commit", stray)).toBe(false);
    expect(repo.hasObject("commit", rev)).toBe(true);
    expect(messages[0]).toMatch(/^Freed objects: \d/);
  });
});
