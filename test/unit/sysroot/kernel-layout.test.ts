import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findKernelLayout } from "../../../src/sysroot/kernel-layout.js";
import { tempDir } from "./_fixtures.js";

const sha = (...parts: string[]): string => createHash("sha256").update(parts.join("")).digest("hex");

describe("findKernelLayout()", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it("finds usr/lib/modules/KVER/vmlinuz + initramfs.img; bootcsum = sha256(kernel ‖ initramfs)", () => {
    const m = join(t.dir, "usr/lib/modules/5.1");
    mkdirSync(m, { recursive: true });
    writeFileSync(join(m, "vmlinuz"), "KERNEL");
    writeFileSync(join(m, "initramfs.img"), "INITRD");
    const l = findKernelLayout(t.dir);
    expect(l.kernelNamever).toBe("vmlinuz-5.1");
    expect(l.initramfsNamever).toBe("initramfs-5.1.img");
    // fact sheet §7.2: sha256("KERNEL"‖"INITRD") = fb13acf6…dc09
    expect(l.bootcsum).toBe(sha("KERNEL", "INITRD"));
    expect(l.bootcsum.startsWith("fb13acf6")).toBe(true);
    expect(l.bootcsum.endsWith("dc09")).toBe(true);
  });

  it("includes a devicetree file in the bootcsum, and a dtb/ dir name-sorted", () => {
    const m = join(t.dir, "usr/lib/modules/5.1");
    mkdirSync(join(m, "dtb/b"), { recursive: true });
    writeFileSync(join(m, "vmlinuz"), "K");
    writeFileSync(join(m, "dtb/z"), "Z");
    writeFileSync(join(m, "dtb/a"), "A");
    writeFileSync(join(m, "dtb/b/c"), "C");
    const l = findKernelLayout(t.dir);
    expect(l.devicetreeSrc).toBe("dtb");
    expect(l.devicetreeNamever).toBeUndefined();
    expect(l.bootcsum).toBe(sha("K", "A", "C", "Z"));
    writeFileSync(join(m, "devicetree"), "DT");
    expect(findKernelLayout(t.dir).bootcsum).toBe(sha("K", "DT"));
  });

  it("uses the legacy /boot layout with the checksum suffix", () => {
    const sum = "a".repeat(64);
    mkdirSync(join(t.dir, "boot"));
    writeFileSync(join(t.dir, "boot", `vmlinuz-3.6.0-${sum}`), "K");
    writeFileSync(join(t.dir, "boot", `initramfs-3.6.0.img-${sum}`), "I");
    const l = findKernelLayout(t.dir);
    expect(l.bootcsum).toBe(sum);
    expect(l.kernelNamever).toBe("vmlinuz-3.6.0");
    expect(l.initramfsNamever).toBe("initramfs-3.6.0.img");
  });

  it("rejects legacy kernel and initramfs with different checksums", () => {
    mkdirSync(join(t.dir, "boot"));
    writeFileSync(join(t.dir, "boot", `vmlinuz-1-${"a".repeat(64)}`), "K");
    writeFileSync(join(t.dir, "boot", `initramfs-1-${"b".repeat(64)}`), "I");
    expect(() => findKernelLayout(t.dir)).toThrow("Mismatched kernel checksum vs initrd");
  });

  it("prefers a legacy layout with an initramfs over a modules layout without one", () => {
    const sum = "c".repeat(64);
    mkdirSync(join(t.dir, "usr/lib/modules/1"), { recursive: true });
    writeFileSync(join(t.dir, "usr/lib/modules/1/vmlinuz"), "K");
    mkdirSync(join(t.dir, "usr/lib/ostree-boot"), { recursive: true });
    writeFileSync(join(t.dir, "usr/lib/ostree-boot", `vmlinuz-1-${sum}`), "K");
    writeFileSync(join(t.dir, "usr/lib/ostree-boot", `initramfs-1-${sum}`), "I");
    expect(findKernelLayout(t.dir).bootcsum).toBe(sum);
  });

  it("fails with ostree's message when there is no kernel", () => {
    expect(() => findKernelLayout(t.dir)).toThrow(
      "Failed to find kernel in /usr/lib/modules, /usr/lib/ostree-boot or /boot",
    );
  });
});
