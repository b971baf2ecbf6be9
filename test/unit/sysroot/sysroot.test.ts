import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { rmrf } from "../../../src/io/fs.js";
import { sysrootRemotesLocation } from "../../../src/sysroot/remotes-location.js";
import { Sysroot } from "../../../src/sysroot/sysroot.js";
import { makeSysroot, tempDir } from "./_fixtures.js";

const CS = "a".repeat(64);
const BC = "b".repeat(64);

/** Hand-build a sysroot state: entries in loader.1 pointing at deployments. */
function addDeployment(
  path: string,
  serial: number,
  version: string,
  options = `ostree=/ostree/boot.1/testos/${BC}/${serial}`,
): void {
  mkdirSync(join(path, `ostree/deploy/testos/deploy/${CS}.${serial}`), { recursive: true });
  mkdirSync(join(path, `ostree/boot.1.0/testos/${BC}`), { recursive: true });
  symlinkSync(
    `../../../deploy/testos/deploy/${CS}.${serial}`,
    join(path, `ostree/boot.1.0/testos/${BC}/${serial}`),
  );
  mkdirSync(join(path, "boot/loader.1/entries"), { recursive: true });
  writeFileSync(
    join(path, `boot/loader.1/entries/ostree-${version}-testos.conf`),
    `title T\nversion ${version}\noptions ${options}\nlinux /x\n`,
  );
}

describe("Sysroot.load()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  beforeEach(() => {
    t = tempDir();
    path = makeSysroot(t.dir);
    symlinkSync("loader.1", join(path, "boot/loader"));
    symlinkSync("boot.1.0", join(path, "ostree/boot.1"));
  });
  afterEach(() => t.cleanup());

  it("reads bootversion, subbootversion and deployments sorted by version (strverscmp, descending)", () => {
    addDeployment(path, 0, "2");
    addDeployment(path, 1, "10");
    addDeployment(path, 2, "9");
    const s = Sysroot.load(path);
    expect(s.bootversion).toBe(1);
    expect(s.subbootversion).toBe(0);
    expect(s.deployments.map((d) => [d.index, d.deployserial])).toEqual([
      [0, 1],
      [1, 2],
      [2, 0],
    ]);
    expect(s.deployments[0]!.origin).toBeNull();
  });

  it("an empty sysroot has no deployments and bootversion 0", () => {
    rmSync(join(path, "boot/loader"));
    expect(Sysroot.load(path).deployments).toEqual([]);
    expect(Sysroot.load(path).bootversion).toBe(0);
  });

  it("rejects an entry without ostree= and a malformed ostree=", () => {
    addDeployment(path, 0, "1", "root=x");
    expect(() => Sysroot.load(path)).toThrow("No ostree= kernel argument found");
    writeFileSync(
      join(path, "boot/loader.1/entries/ostree-1-testos.conf"),
      "version 1\noptions ostree=/etc/passwd\n",
    );
    expect(() => Sysroot.load(path)).toThrow("Invalid ostree= argument '/etc/passwd'");
  });

  it("rejects a bootlink whose deployment is missing", () => {
    addDeployment(path, 0, "1");
    rmSync(join(path, `ostree/deploy/testos/deploy/${CS}.0`), { recursive: true });
    expect(() => Sysroot.load(path)).toThrow(
      /Parsing deployment \/ostree\/boot.1\/testos\/.*\/0 in stateroot 'testos'/,
    );
  });

  it("rejects a boot/loader that is not a symlink to loader.0|1", () => {
    rmSync(join(path, "boot/loader"));
    symlinkSync("loader.7", join(path, "boot/loader"));
    expect(() => Sysroot.load(path)).toThrow("Invalid target 'loader.7' in boot/loader");
  });

  it("reports the first deployment of a stateroot as its merge deployment", () => {
    addDeployment(path, 0, "1");
    addDeployment(path, 1, "2");
    const s = Sysroot.load(path);
    expect(s.mergeDeployment("testos")!.deployserial).toBe(1);
    expect(s.mergeDeployment("other")).toBeNull();
  });
});

describe("remotes of a --sysroot path (remote add/delete)", () => {
  it("a physical sysroot keeps remotes in its repo; a deployment root in its /etc/ostree/remotes.d", async () => {
    const dir = mkdtempSync(join(tmpdir(), "arbor-remloc-"));
    try {
      const phys = join(dir, "sysroot");
      const dep = join(dir, "deploy");
      mkdirSync(phys);
      mkdirSync(dep);
      expect(sysrootRemotesLocation(phys)).toEqual({ repoPath: join(phys, "ostree/repo"), remotesDir: null });
      symlinkSync(join(dir, "missing"), join(phys, "sysroot")); // dangling: still physical
      expect(sysrootRemotesLocation(phys).remotesDir).toBeNull();
      symlinkSync(phys, join(dep, "sysroot"));
      expect(sysrootRemotesLocation(dep)).toEqual({
        repoPath: join(dep, "ostree/repo"),
        remotesDir: join(dep, "etc/ostree/remotes.d"),
      });
    } finally {
      await rmrf(dir);
    }
  });
});
