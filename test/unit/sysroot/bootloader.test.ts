import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { joinLines, queryBootloader } from "../../../src/sysroot/bootloader/index.js";
import { syslinuxBootloader } from "../../../src/sysroot/bootloader/syslinux.js";
import { ubootBootloader } from "../../../src/sysroot/bootloader/uboot.js";
import { Sysroot } from "../../../src/sysroot/sysroot.js";
import { makeSysroot, tempDir } from "./_fixtures.js";

const ENTRY = (n: number, title: string) =>
  `title ${title}\nversion ${n}\noptions root=x ostree=/ostree/boot.1/os/c/${n}\nlinux /ostree/os-c/vmlinuz-1\ninitrd /ostree/os-c/initramfs-1.img\n`;

describe("bootloader backends", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let path: string;
  beforeEach(() => {
    t = tempDir();
    path = makeSysroot(t.dir);
    mkdirSync(join(path, "boot/loader.1/entries"), { recursive: true });
    writeFileSync(join(path, "boot/loader.1/entries/ostree-2-os.conf"), ENTRY(2, "OS A (ostree:0)"));
    writeFileSync(join(path, "boot/loader.1/entries/ostree-1-os.conf"), ENTRY(1, "OS B (ostree:1)"));
  });
  afterEach(() => t.cleanup());

  it("auto picks nothing without a bootloader config, and honours sysroot.bootloader", () => {
    const s = Sysroot.unloaded(path);
    expect(queryBootloader(s)).toBeNull();
    s.repo().config.set("sysroot", "bootloader", "uboot");
    expect(queryBootloader(s)?.name).toBe("U-Boot");
    s.repo().config.set("sysroot", "bootloader", "bogus");
    expect(() => queryBootloader(s)).toThrow("Invalid bootloader configuration: 'bogus'");
  });

  it("syslinux keeps foreign LABEL blocks, drops ostree's, regenerates DEFAULT", () => {
    mkdirSync(join(path, "boot/syslinux"), { recursive: true });
    writeFileSync(
      join(path, "boot/syslinux/syslinux.cfg"),
      "PROMPT 1\nDEFAULT OS old (ostree:0)\nLABEL other\n\tKERNEL /vmlinuz-other\nLABEL OS old (ostree:0)\n\tKERNEL /ostree/os-old/vmlinuz\n",
    );
    syslinuxBootloader.writeConfig(Sysroot.unloaded(path), 1, []);
    expect(readFileSync(join(path, "boot/loader.1/syslinux.cfg"), "utf8")).toBe(
      [
        "PROMPT 1",
        "LABEL other",
        "\tKERNEL /vmlinuz-other",
        "", // the file's final newline, kept as ostree keeps it
        "DEFAULT OS A (ostree:0)",
        "LABEL OS A (ostree:0)",
        "\tKERNEL /boot/ostree/os-c/vmlinuz-1",
        "\tINITRD /boot/ostree/os-c/initramfs-1.img",
        "\tAPPEND root=x ostree=/ostree/boot.1/os/c/2",
        "LABEL OS B (ostree:1)",
        "\tKERNEL /boot/ostree/os-c/vmlinuz-1",
        "\tINITRD /boot/ostree/os-c/initramfs-1.img",
        "\tAPPEND root=x ostree=/ostree/boot.1/os/c/1",
        "",
      ].join("\n"),
    );
  });

  it("u-boot writes numbered variables per entry", () => {
    mkdirSync(join(path, "boot/loader.0"), { recursive: true });
    symlinkSync("loader.0", join(path, "boot/loader"));
    writeFileSync(join(path, "boot/loader/uEnv.txt"), "");
    ubootBootloader.writeConfig(Sysroot.unloaded(path), 1, []);
    expect(readFileSync(join(path, "boot/loader.1/uEnv.txt"), "utf8")).toBe(
      [
        "kernel_image=/boot/ostree/os-c/vmlinuz-1",
        "ramdisk_image=/boot/ostree/os-c/initramfs-1.img",
        "bootargs=root=x ostree=/ostree/boot.1/os/c/2",
        "kernel_image2=/boot/ostree/os-c/vmlinuz-1",
        "ramdisk_image2=/boot/ostree/os-c/initramfs-1.img",
        "bootargs2=root=x ostree=/ostree/boot.1/os/c/1",
        "",
      ].join("\n"),
    );
  });

  it("joinLines() drops a leading empty line and every empty line after the first", () => {
    expect(joinLines(["", "a", "", "b", "", "c"])).toBe("a\n\nb\nc\n");
  });
});
