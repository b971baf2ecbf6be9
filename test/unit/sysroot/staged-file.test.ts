import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newDeployment } from "../../../src/sysroot/deployment.js";
import { readStagedDeployment, writeStagedDeployment } from "../../../src/sysroot/staged-file.js";
import { tempDir } from "./_fixtures.js";

describe("staged deployment record", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it("round-trips target, merge deployment and kargs", () => {
    const p = join(t.dir, "staged");
    const d = newDeployment({
      osname: "os",
      csum: "a".repeat(64),
      deployserial: 2,
      bootcsum: "b".repeat(64),
    });
    const m = newDeployment({
      osname: "os",
      csum: "c".repeat(64),
      deployserial: 0,
      bootcsum: "d".repeat(64),
    });
    writeStagedDeployment(p, { deployment: d, merge: m, kargs: ["root=x", "quiet"], overlayInitrds: null });
    const r = readStagedDeployment(p)!;
    expect(r.deployment).toMatchObject({
      osname: "os",
      csum: d.csum,
      deployserial: 2,
      bootcsum: d.bootcsum,
      staged: true,
    });
    expect(r.merge).toEqual({ osname: "os", csum: m.csum, deployserial: 0, bootcsum: m.bootcsum });
    expect(r.kargs).toEqual(["root=x", "quiet"]);
    expect(readStagedDeployment(join(t.dir, "absent"))).toBeNull();
  });

  it("rejects a hostile record instead of trusting it", () => {
    const p = join(t.dir, "staged");
    writeFileSync(p, Buffer.from([0xff, 0x00, 0x13, 0x37, 0x01]));
    expect(() => readStagedDeployment(p)).toThrow(/Loading staged deployment/);
  });
});
