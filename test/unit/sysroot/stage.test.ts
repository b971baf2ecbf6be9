import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deployTree } from "../../../src/sysroot/deploy.js";
import { originFromRefspec } from "../../../src/sysroot/origin.js";
import {
  bootComplete,
  FINALIZE_FAILURE_STAMP,
  finalizeStaged,
  stageTree,
} from "../../../src/sysroot/stage.js";
import { deploymentStatuses } from "../../../src/sysroot/status.js";
import { parseDebugFlags, Sysroot } from "../../../src/sysroot/sysroot.js";
import { simpleWriteDeployment } from "../../../src/sysroot/write-list.js";
import { commitOs, deployFirst, makeOsTree, makeSysroot, tempDir } from "./_fixtures.js";

const MUTABLE = parseDebugFlags("mutable-deployments");

describe("staged deployments on a (simulated) booted system", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  let run: string;
  let v1: string;
  let v2: string;
  let bootedRoot: string;
  const booted = () =>
    Sysroot.load(path, { debug: MUTABLE, runDir: run, rootDir: bootedRoot, forceBooted: true });

  beforeEach(async () => {
    t = tempDir();
    path = makeSysroot(t.dir);
    run = join(t.dir, "run");
    mkdirSync(run);
    makeOsTree(join(t.dir, "t1"));
    makeOsTree(join(t.dir, "t2"), { kernel: "kernel 2\n" });
    v1 = await commitOs(join(path, "ostree/repo"), join(t.dir, "t1"), { timestamp: 1 });
    v2 = await commitOs(join(path, "ostree/repo"), join(t.dir, "t2"), { timestamp: 2 });
    const s = Sysroot.load(path, { debug: MUTABLE });
    await deployFirst(s, v1, { kargs: ["root=x"] });
    bootedRoot = s.deploymentPath(Sysroot.load(path).deployments[0]!);
  });
  afterEach(() => t.cleanup());

  it("finds the booted deployment and refuses to stage when not booted", async () => {
    const s = booted();
    expect(s.booted?.csum).toBe(v1);
    const plain = Sysroot.load(path, { debug: MUTABLE });
    await expect(
      stageTree(plain, { osname: "testos", revision: v2, origin: null, merge: null }),
    ).rejects.toThrow("Cannot stage deployment: Not currently booted into an OSTree system");
  });

  it("stages, lists the staged deployment first, and finalizes it with /etc changes made meanwhile", async () => {
    let s = booted();
    await stageTree(s, {
      osname: "testos",
      revision: v2,
      origin: originFromRefspec("testos/stable"),
      merge: s.booted,
    });
    expect(existsSync(join(run, "ostree/staged-deployment"))).toBe(true);
    s = booted();
    const st = deploymentStatuses(s);
    expect(st.map((d) => [d.checksum, d.staged, d.booted])).toEqual([
      [v2, true, false],
      [v1, false, true],
    ]);
    // an /etc edit after staging still makes it into the new deployment
    writeFileSync(join(bootedRoot, "etc/late.conf"), "late\n");
    expect(await finalizeStaged(s)).toBe("finalized");
    s = booted();
    expect(s.deployments.map((d) => [d.csum, d.staged])).toEqual([
      [v2, false],
      [v1, false],
    ]);
    expect(readFileSync(join(s.deploymentPath(s.deployments[0]!), "etc/late.conf"), "utf8")).toBe("late\n");
    expect(s.deployments[0]!.bootconfig!.get("options")).toMatch(/^root=x ostree=/);
    expect(existsSync(join(run, "ostree/staged-deployment"))).toBe(false);
  });

  it("a locked finalization does nothing", async () => {
    const s = booted();
    await stageTree(s, {
      osname: "testos",
      revision: v2,
      origin: null,
      merge: s.booted,
      lockFinalization: true,
    });
    expect(await finalizeStaged(booted())).toBe("locked");
    expect(booted().deployments[0]!.staged).toBe(true);
  });

  it("marks pending and rollback deployments relative to the booted one", async () => {
    let s = booted();
    const d = await deployTree(s, { osname: "testos", revision: v2, origin: null, merge: s.booted });
    await simpleWriteDeployment(s, "testos", d, s.booted, {});
    s = booted();
    expect(deploymentStatuses(s).map((x) => [x.pending, x.booted, x.rollback])).toEqual([
      [true, false, false],
      [false, true, false],
    ]);
  });

  it("boot-complete reports a failed finalization once, then nothing", () => {
    const s = booted();
    expect(() => bootComplete(s)).not.toThrow(); // no stamp: nothing to report
    mkdirSync(join(path, "boot/ostree"), { recursive: true });
    writeFileSync(join(path, FINALIZE_FAILURE_STAMP), "Finalizing staged deployment: disk full");
    expect(() => bootComplete(s)).toThrow(
      "ostree-finalize-staged.service failed on previous boot: Finalizing staged deployment: disk full",
    );
    expect(existsSync(join(path, FINALIZE_FAILURE_STAMP))).toBe(false);
    expect(() => bootComplete(s)).not.toThrow();
  });

  it("boot-complete names the stamp it cannot read", () => {
    mkdirSync(join(path, FINALIZE_FAILURE_STAMP), { recursive: true }); // a directory: EISDIR
    expect(() => bootComplete(booted())).toThrow(/Cannot read ".*finalize-failure\.stamp"/);
  });
});
