/**
 * FIFREEZE/FITHAW of /boot during the boot switch: the native freeze-thaw cycle, its watchdog (a
 * kill -9 while frozen must not leave the filesystem frozen), and when the swap uses it. The
 * freezing cases need root and a loop-mounted ext4 image (skipped otherwise): a freeze of the
 * filesystem holding /tmp would stall the whole machine.
 */
import { execFileSync, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { native } from "../../../src/io/native.js";
import { fullSystemSync, shouldFreezeBoot } from "../../../src/sysroot/bootswap.js";
import { cleanupSysroot } from "../../../src/sysroot/cleanup.js";
import { parseDebugFlags, Sysroot } from "../../../src/sysroot/sysroot.js";
import { commitOs, deployFirst, makeOsTree, makeSysroot, tempDir } from "./_fixtures.js";

const ADDON = new URL("../../../native/build/Release/arbor_native.node", import.meta.url).pathname;

/** Mount a fresh 32 MB ext4 image on `dir`; false if this machine cannot (not root, no loop). */
function mountExt4(img: string, dir: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("truncate", ["-s", "32M", img]);
    execFileSync("mkfs.ext4", ["-q", "-F", img], { stdio: "ignore" });
    mkdirSync(dir, { recursive: true });
    execFileSync("mount", ["-o", "loop", img, dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Write a file under `dir` in a child process; resolves with how long it took (ms), or -1 after `limit`. */
function timedWrite(dir: string, limit: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const c = spawn("sh", ["-c", `echo x > "${dir}/probe-$$"`], { stdio: "ignore" });
    const timer = setTimeout(() => {
      c.kill("SIGKILL");
      resolve(-1);
    }, limit);
    c.on("exit", () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

const t = tempDir("arbor-freeze-");
const mnt = join(t.dir, "mnt");
const mounted = mountExt4(join(t.dir, "fs.img"), mnt);

afterAll(async () => {
  if (mounted) execFileSync("umount", ["-l", mnt]);
  await t.cleanup();
});

describe("native freezeThaw", () => {
  it("falls back to syncfs (returns false) where the filesystem cannot freeze", () => {
    const dir = existsSync("/dev/shm") ? "/dev/shm" : t.dir;
    const fd = openSync(dir, "r");
    try {
      // tmpfs has no freeze support; unprivileged callers get EPERM: both fall back.
      if (dir === "/dev/shm" || process.getuid?.() !== 0) expect(native().freezeThaw(fd)).toBe(false);
    } finally {
      closeSync(fd);
    }
  });

  it("rejects a bad fd", () => {
    expect(() => native().freezeThaw(-1)).toThrow(/fd must be/);
    expect(() => native().freezeThaw(987654)).toThrow(/EBADF/);
  });

  it.skipIf(!mounted)("freezes and thaws a real filesystem, which stays writable", async () => {
    const fd = openSync(mnt, "r");
    try {
      expect(native().freezeThaw(fd)).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect(await timedWrite(mnt, 5000)).toBeGreaterThanOrEqual(0);
  });

  it.skipIf(!mounted)("a kill -9 while frozen: the watchdog thaws at once", async () => {
    const script = `const n=require(${JSON.stringify(ADDON)});const fd=require("fs").openSync(${JSON.stringify(mnt)},"r");process.stdout.write("go\\n");n.freezeThaw(fd,60000,60000);`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
      await new Promise((r) => setTimeout(r, 300)); // now inside the stall, frozen
      const write = timedWrite(mnt, 10_000); // blocks while frozen
      await new Promise((r) => setTimeout(r, 300));
      child.kill("SIGKILL");
      // 60 s watchdog timeout and 60 s stall: only the hang-up can explain a quick thaw.
      const ms = await write;
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(10_000);
    } finally {
      // on an early failure, still stop the child by its pid (its watchdog then thaws)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });

  it.skipIf(!mounted)(
    "a caller stalled past the timeout: the watchdog thaws, the caller still succeeds",
    async () => {
      const fd = openSync(mnt, "r");
      const t0 = Date.now();
      try {
        expect(native().freezeThaw(fd, 500, 2000)).toBe(true);
      } finally {
        closeSync(fd);
      }
      expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
      expect(await timedWrite(mnt, 5000)).toBeGreaterThanOrEqual(0);
    },
  );
});

describe("when the boot switch freezes /boot", () => {
  it("not for a sysroot folder whose boot/ is on the same filesystem", () => {
    const s = makeSysroot(t.dir, "testos");
    expect(shouldFreezeBoot(s, join(s, "boot"))).toBe(false);
    expect(shouldFreezeBoot(s, join(s, "no-such-dir"))).toBe(false);
  });

  it("always for the real root, as ostree", () => {
    expect(shouldFreezeBoot("/", "/boot")).toBe(true);
  });

  it.skipIf(!mounted)(
    "when boot/ is a mount point: a deploy onto it freezes and thaws, and completes",
    async () => {
      const root = join(mnt, "sr");
      mkdirSync(root);
      const path = makeSysroot(root);
      const bootImg = join(t.dir, "boot.img");
      const bootMnt = join(path, "boot");
      expect(mountExt4(bootImg, bootMnt)).toBe(true);
      try {
        expect(shouldFreezeBoot(path, bootMnt)).toBe(true);
        const tree = join(t.dir, "tree");
        makeOsTree(tree);
        const rev = await commitOs(join(path, "ostree/repo"), tree);
        const debug = parseDebugFlags("mutable-deployments");
        const s = Sysroot.load(path, { debug });
        fullSystemSync(s);
        await deployFirst(s, rev, { noClean: true });
        await cleanupSysroot(s, { prune: false });
        expect(readlinkSync(join(path, "boot/loader"))).toBe("loader.1");
        writeFileSync(join(bootMnt, "still-writable"), "y");
      } finally {
        execFileSync("umount", ["-l", bootMnt]);
      }
    },
  );
});
