import { describe, expect, it } from "vitest";
import { KeyFile } from "../../../src/repo/config.js";
import { type Deployment, newDeployment } from "../../../src/sysroot/deployment.js";
import type { Sysroot } from "../../../src/sysroot/sysroot.js";
import { computeNewList } from "../../../src/sysroot/write-list.js";

function dep(osname: string, n: number, pinned = false): Deployment {
  const origin = new KeyFile();
  origin.set("origin", "refspec", "x");
  if (pinned) origin.set("libostree-transient", "pinned", "true");
  return newDeployment({ osname, csum: String(n).repeat(64).slice(0, 64), deployserial: 0, origin });
}

function fakeSysroot(deployments: Deployment[], booted: Deployment | null = null): Sysroot {
  return { deployments, booted } as unknown as Sysroot;
}

const names = (l: Deployment[]): string[] => l.map((d) => `${d.osname}${d.csum[0]}`);

describe("computeNewList() (ostree's retention rules)", () => {
  const a1 = dep("a", 1);
  const a2 = dep("a", 2);
  const a3 = dep("a", 3);
  const b4 = dep("b", 4);
  const n = dep("a", 9);

  it("keeps the merge deployment and other stateroots, drops the rest of the stateroot", () => {
    const s = fakeSysroot([a1, b4, a2, a3]);
    expect(names(computeNewList(s, "a", n, a1, {}))).toEqual(["a9", "a1", "b4"]);
  });

  it("--retain keeps everything", () => {
    const s = fakeSysroot([a1, a2, a3]);
    expect(names(computeNewList(s, "a", n, a1, { retain: true }))).toEqual(["a9", "a1", "a2", "a3"]);
  });

  it("pinned deployments survive", () => {
    const p = dep("a", 5, true);
    const s = fakeSysroot([a1, p, a3]);
    expect(names(computeNewList(s, "a", n, a1, {}))).toEqual(["a9", "a1", "a5"]);
  });

  it("--not-as-default inserts after the merge deployment", () => {
    const s = fakeSysroot([a1, b4]);
    expect(names(computeNewList(s, "a", n, a1, { notDefault: true }))).toEqual(["a1", "a9", "b4"]);
  });

  it("--retain-rollback keeps deployments after the booted one", () => {
    const s = fakeSysroot([a1, a2, a3], a2);
    expect(names(computeNewList(s, "a", n, a2, { retainRollback: true }))).toEqual(["a9", "a2", "a3"]);
    expect(names(computeNewList(s, "a", n, a2, { retainPending: true }))).toEqual(["a9", "a1", "a2"]);
  });

  it("without booted or merge deployment, --retain-pending retains all", () => {
    const s = fakeSysroot([a1, a2]);
    expect(names(computeNewList(s, "a", n, null, { retainPending: true }))).toEqual(["a9", "a1", "a2"]);
  });
});
