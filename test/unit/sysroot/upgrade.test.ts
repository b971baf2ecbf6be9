import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readRef, writeRefFile } from "../../../src/repo/refs.js";
import { Repo } from "../../../src/repo/repo.js";
import { cleanupSysroot } from "../../../src/sysroot/cleanup.js";
import { parseDebugFlags, Sysroot } from "../../../src/sysroot/sysroot.js";
import { checkTimestamps, type Puller, Upgrader } from "../../../src/sysroot/upgrade.js";
import { commitOs, deployFirst, makeOsTree, makeSysroot, tempDir } from "./_fixtures.js";

const MUTABLE = parseDebugFlags("mutable-deployments");
const load = (p: string): Sysroot => Sysroot.load(p, { debug: MUTABLE });

describe("Upgrader", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  let repo: Repo;
  let v1: string;
  let v2: string;

  beforeEach(async () => {
    t = tempDir();
    path = makeSysroot(t.dir);
    const tree = join(t.dir, "tree");
    makeOsTree(tree);
    const repoPath = join(path, "ostree/repo");
    v1 = await commitOs(repoPath, tree, { branch: "scratch", version: "1", timestamp: 1000 });
    makeOsTree(join(t.dir, "tree2"), { etc: { "new.conf": "n\n" } });
    v2 = await commitOs(repoPath, join(t.dir, "tree2"), { branch: "scratch", version: "2", timestamp: 2000 });
    repo = Repo.open(repoPath);
    // the deployed origin follows remote "origin", ref "os/stable" (no network: refs set by hand)
    writeRefFile(repo, "os/stable", v1, "origin");
    const s = load(path);
    await deployFirst(s, v1, { refspec: "origin:os/stable", noClean: true });
  });
  afterEach(() => t.cleanup());

  it("needs --os outside a booted system", () => {
    expect(() => Upgrader.create(load(path))).toThrow(
      "Not currently booted into an OSTree system and no OS specified",
    );
  });

  it("--deploy-only (synthetic pull) reports no change when the ref did not move", async () => {
    const up = Upgrader.create(load(path), { osname: "testos" });
    expect(await up.pull({ synthetic: true })).toBe(false);
  });

  it("--deploy-only deploys what the remote ref points to now", async () => {
    writeRefFile(repo, "os/stable", v2, "origin");
    const up = Upgrader.create(load(path), { osname: "testos" });
    expect(await up.pull({ synthetic: true })).toBe(true);
    await up.deploy();
    const s = load(path);
    expect(s.deployments.map((d) => d.csum)).toEqual([v2, v1]);
  });

  it("a fetch goes through the puller", async () => {
    const calls: string[][] = [];
    const puller: Puller = {
      async pull(r, remote, refs) {
        calls.push([remote, ...refs]);
        writeRefFile(r, "os/stable", v2, "origin");
      },
    };
    const up = Upgrader.create(load(path), { osname: "testos" });
    expect(await up.pull({ puller })).toBe(true);
    expect(calls).toEqual([["origin", "os/stable"]]);
  });

  it("--override-commit to an older commit is a downgrade and refused unless allowed", async () => {
    writeRefFile(repo, "os/stable", v2, "origin");
    let up = Upgrader.create(load(path), { osname: "testos" });
    await up.pull({ synthetic: true });
    await up.deploy();
    up = Upgrader.create(load(path), { osname: "testos" });
    up.origin.set("origin", "override-commit", v1);
    up.setOrigin(up.origin);
    await expect(up.pull({ synthetic: true })).rejects.toThrow(
      /is chronologically older than current revision/,
    );
    expect(await up.pull({ synthetic: true, allowOlder: true })).toBe(true);
    expect(readRef(repo, "os/stable", "origin")).toBe(v1);
    await up.deploy();
    const s = load(path);
    expect(s.deployments[0]!.csum).toBe(v1);
    await cleanupSysroot(s, { prune: true });
  });

  it("checkTimestamps() accepts newer and equal, names both revisions when refusing", () => {
    expect(() => checkTimestamps(repo, v1, v2)).not.toThrow();
    expect(() => checkTimestamps(repo, v2, v1)).toThrow(`Upgrade target revision '${v1}'`);
  });

  it("refuses an origin marked unconfigured", async () => {
    const s = load(path);
    const o = s.deployments[0]!.origin!;
    o.set("origin", "unconfigured-state", "Use the vendor tool");
    const { writeOrigin } = await import("../../../src/sysroot/edit-deployment.js");
    writeOrigin(s, s.deployments[0]!, o);
    expect(() => Upgrader.create(load(path), { osname: "testos" })).toThrow(
      "origin unconfigured-state: Use the vendor tool",
    );
    expect(() => Upgrader.create(load(path), { osname: "testos", ignoreUnconfigured: true })).not.toThrow();
  });
});
