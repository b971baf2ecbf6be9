import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { native } from "../../../src/io/native.js";
import { cleanupSysroot } from "../../../src/sysroot/cleanup.js";
import { deployTree } from "../../../src/sysroot/deploy.js";
import { setKargsInPlace, setPinned } from "../../../src/sysroot/edit-deployment.js";
import { originFromRefspec } from "../../../src/sysroot/origin.js";
import { parseDebugFlags, Sysroot } from "../../../src/sysroot/sysroot.js";
import {
  rollbackDeployment,
  setDefaultDeployment,
  simpleWriteDeployment,
  undeploy,
} from "../../../src/sysroot/write-list.js";
import { commitOs, makeOsTree, makeSysroot, tempDir } from "./_fixtures.js";

const MUTABLE = parseDebugFlags("mutable-deployments");

async function deploy(
  path: string,
  rev: string,
  o: { kargs?: string[]; retain?: boolean; debug?: typeof MUTABLE } = {},
) {
  const s = Sysroot.load(path, { debug: o.debug ?? MUTABLE });
  const merge = s.mergeDeployment("testos");
  const d = await deployTree(s, {
    osname: "testos",
    revision: rev,
    origin: originFromRefspec("testos/stable"),
    merge,
    overrideKargs: o.kargs ?? null,
  });
  await simpleWriteDeployment(s, "testos", d, merge, { retain: o.retain, noClean: true });
  await cleanupSysroot(s, { prune: true });
  return Sysroot.load(path, { debug: MUTABLE });
}

describe("deploying and switching boot entries", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  let rev: string;
  beforeEach(async () => {
    t = tempDir();
    path = makeSysroot(t.dir);
    const tree = join(t.dir, "tree");
    makeOsTree(tree);
    rev = await commitOs(join(path, "ostree/repo"), tree, { version: "2.0" });
  });
  afterEach(() => t.cleanup());

  it("first deploy writes loader.1, boot.1.1, the entry, kernels, origin, /etc and deployment refs", async () => {
    const s = await deploy(path, rev, { kargs: ["root=LABEL=root"] });
    expect(readlinkSync(join(path, "boot/loader"))).toBe("loader.1");
    expect(readlinkSync(join(path, "ostree/boot.1"))).toBe("boot.1.1");
    const d = s.deployments[0]!;
    expect(s.deployments).toHaveLength(1);
    expect(readlinkSync(join(path, `ostree/boot.1.1/testos/${d.bootcsum}/0`))).toBe(
      `../../../deploy/testos/deploy/${rev}.0`,
    );
    expect(readFileSync(join(path, "boot/loader/entries/ostree-1-testos.conf"), "utf8")).toBe(
      [
        "title Test OS 1 2.0 (ostree:0)",
        "version 1",
        `options root=LABEL=root ostree=/ostree/boot.1/testos/${d.bootcsum}/0`,
        `linux /ostree/testos-${d.bootcsum}/vmlinuz-1.0`,
        `initrd /ostree/testos-${d.bootcsum}/initramfs-1.0.img`,
        "",
      ].join("\n"),
    );
    expect(readFileSync(join(path, `boot/ostree/testos-${d.bootcsum}/vmlinuz-1.0`), "utf8")).toBe(
      "a kernel\n",
    );
    expect(readFileSync(join(path, `ostree/deploy/testos/deploy/${rev}.0.origin`), "utf8")).toBe(
      "[origin]\nrefspec=testos/stable\n",
    );
    const root = s.deploymentPath(d);
    expect(readFileSync(join(root, "etc/foo.conf"), "utf8")).toBe("a=1\n");
    expect(lstatSync(join(root, "etc/foo.conf")).nlink).toBe(1); // a copy, not a hardlink
    expect(lstatSync(join(root, "usr/bin/sh")).nlink).toBeGreaterThan(1); // hardlinked to the repo
    expect(readFileSync(join(path, "ostree/repo/refs/heads/ostree/1/1/0"), "utf8").trim()).toBe(rev);
    expect(existsSync(join(path, "ostree/deploy/testos/var/.ostree-selabeled"))).toBe(true);
  });

  it("a second deploy swaps bootversion, carries kargs and /etc, keeps the merge deployment", async () => {
    let s = await deploy(path, rev, { kargs: ["root=LABEL=root", "quiet"] });
    writeFileSync(join(s.deploymentPath(s.deployments[0]!), "etc/foo.conf"), "a=LOCAL\n");
    s = await deploy(path, rev);
    expect(readlinkSync(join(path, "boot/loader"))).toBe("loader.0");
    expect(s.deployments.map((d) => d.deployserial)).toEqual([1, 0]);
    expect(s.deployments[0]!.bootconfig!.get("options")).toMatch(
      /^root=LABEL=root quiet ostree=\/ostree\/boot\.0\//,
    );
    expect(readFileSync(join(s.deploymentPath(s.deployments[0]!), "etc/foo.conf"), "utf8")).toBe("a=LOCAL\n");
    expect(readdirSync(join(path, "boot/loader/entries")).sort()).toEqual([
      "ostree-1-testos.conf",
      "ostree-2-testos.conf",
    ]);
    expect(existsSync(join(path, "boot/loader.1"))).toBe(false);
  });

  it("redeploying with identical boot config only swaps the subbootversion", async () => {
    await deploy(path, rev);
    await deploy(path, rev);
    const s = await deploy(path, rev);
    expect(s.bootversion).toBe(0);
    expect(readlinkSync(join(path, "ostree/boot.0"))).toBe("boot.0.0");
    expect(existsSync(join(path, "ostree/boot.0.1"))).toBe(false);
  });

  it("undeploy, set-default and rollback change the default", async () => {
    await deploy(path, rev);
    await deploy(path, rev, { retain: true });
    let s = await deploy(path, rev, { retain: true });
    expect(s.deployments.map((d) => d.deployserial)).toEqual([2, 1, 0]);
    await setDefaultDeployment(s, 2);
    s = Sysroot.load(path, { debug: MUTABLE });
    expect(s.deployments.map((d) => d.deployserial)).toEqual([0, 2, 1]);
    await rollbackDeployment(s);
    s = Sysroot.load(path, { debug: MUTABLE });
    expect(s.deployments.map((d) => d.deployserial)).toEqual([2, 0, 1]);
    const removed = await undeploy(s, 1);
    expect(removed.deployserial).toBe(0);
    s = Sysroot.load(path, { debug: MUTABLE });
    expect(s.deployments.map((d) => d.deployserial)).toEqual([2, 1]);
    expect(existsSync(join(path, `ostree/deploy/testos/deploy/${rev}.0`))).toBe(false);
  });

  it("pinning survives a deploy that would otherwise collect it", async () => {
    await deploy(path, rev);
    let s = await deploy(path, rev);
    expect(setPinned(s, s.deployments[1]!, true)).toBe(true);
    s = await deploy(path, rev);
    expect(s.deployments.map((d) => d.deployserial)).toEqual([2, 1, 0]);
    expect(readFileSync(join(path, `ostree/deploy/testos/deploy/${rev}.0.origin`), "utf8")).toBe(
      "[origin]\nrefspec=testos/stable\n\n[libostree-transient]\npinned=true\n",
    );
  });

  it("kargs edit in place rewrites the live entry without a bootversion change", async () => {
    const s = await deploy(path, rev, { kargs: ["a=1"] });
    const d = s.deployments[0]!;
    setKargsInPlace(s, d, `${d.bootconfig!.get("options")} b=2`);
    const again = Sysroot.load(path);
    expect(again.bootversion).toBe(1);
    expect(again.deployments[0]!.bootconfig!.get("options")).toMatch(/^a=1 ostree=.* b=2$/);
  });

  it("seals deployment roots with chattr +i and cleanup still deletes them", async () => {
    await deploy(path, rev, { debug: parseDebugFlags("") });
    let s = Sysroot.load(path);
    const first = s.deploymentPath(s.deployments[0]!);
    expect(native().getInodeFlags(first) & 0x10).toBe(0x10);
    await deploy(path, rev, { debug: parseDebugFlags("") });
    s = Sysroot.load(path);
    await undeploy(s, 1);
    expect(existsSync(first)).toBe(false);
  });

  it("refuses a stateroot that does not exist", async () => {
    const s = Sysroot.load(path, { debug: MUTABLE });
    await expect(
      deployTree(s, { osname: "unknown", revision: rev, origin: null, merge: null }),
    ).rejects.toThrow('Cannot deploy to stateroot "unknown": it does not exist');
  });
});
