import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { grub2MenuEntries, shellQuote } from "../../../src/sysroot/bootloader/grub2-generate.js";
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

  describe("grub2", () => {
    /** A generator writing its environment into the -o file (as ostree-grub-generator is called). */
    function fakeGenerator(fail = false): Record<string, string> {
      const gen = join(t.dir, "gen.sh");
      writeFileSync(
        gen,
        fail
          ? "#!/bin/sh\nexit 3\n"
          : '#!/bin/sh\n[ "$1" = -o ] || exit 9\nprintf "bv=%s efi=%s\\n" "$_OSTREE_GRUB2_BOOTVERSION" "$_OSTREE_GRUB2_IS_EFI" > "$2"\n',
        { mode: 0o755 },
      );
      return { ...process.env, OSTREE_GRUB2_EXEC: gen } as Record<string, string>;
    }

    it("BIOS: boot/grub2/grub.cfg makes it active; the config goes to loader.N and flips atomically", () => {
      mkdirSync(join(path, "boot/grub2"), { recursive: true });
      writeFileSync(join(path, "boot/grub2/grub.cfg"), "static\n");
      const s = Sysroot.unloaded(path, { env: fakeGenerator() });
      const bl = queryBootloader(s);
      expect(bl?.atomic).toBe(true);
      bl?.writeConfig(s, 1, []);
      expect(readFileSync(join(path, "boot/loader.1/grub.cfg"), "utf8")).toBe("bv=1 efi=\n");
      expect(readFileSync(join(path, "boot/grub2/grub.cfg"), "utf8")).toBe("static\n");
    });

    it("EFI: boot/efi/EFI/VENDOR/grub.cfg (not BOOT, not a symlink) is replaced in place, the old one kept", () => {
      const efi = join(path, "boot/efi/EFI");
      mkdirSync(join(efi, "BOOT"), { recursive: true });
      writeFileSync(join(efi, "BOOT/grub.cfg"), "fallback\n");
      mkdirSync(join(t.dir, "elsewhere"));
      writeFileSync(join(t.dir, "elsewhere/grub.cfg"), "via link\n");
      symlinkSync(join(t.dir, "elsewhere"), join(efi, "alink"));
      const s = Sysroot.unloaded(path, { env: fakeGenerator() });
      expect(queryBootloader(s)).toBeNull(); // only BOOT and a symlink: not active
      mkdirSync(join(efi, "debian"));
      writeFileSync(join(efi, "debian/grub.cfg"), "previous\n");
      writeFileSync(join(efi, "debian/grub.cfg.new"), "stale leftover\n");
      const bl = queryBootloader(s);
      expect(bl?.name).toBe("grub2");
      expect(bl?.atomic).toBe(false);
      bl?.writeConfig(s, 0, []);
      expect(readFileSync(join(efi, "debian/grub.cfg"), "utf8")).toBe("bv=0 efi=1\n");
      expect(readFileSync(join(efi, "debian/grub.cfg.old"), "utf8")).toBe("previous\n");
      expect(existsSync(join(efi, "debian/grub.cfg.new"))).toBe(false);
      expect(readFileSync(join(efi, "BOOT/grub.cfg"), "utf8")).toBe("fallback\n");
      expect(readFileSync(join(t.dir, "elsewhere/grub.cfg"), "utf8")).toBe("via link\n");
    });

    it("EFI: a failing generator leaves the current config untouched and names the generator", () => {
      const efi = join(path, "boot/efi/EFI/debian");
      mkdirSync(efi, { recursive: true });
      writeFileSync(join(efi, "grub.cfg"), "previous\n");
      const env = fakeGenerator(true);
      const s = Sysroot.unloaded(path, { env });
      expect(() => queryBootloader(s)?.writeConfig(s, 1, [])).toThrow(
        `${env.OSTREE_GRUB2_EXEC}: Child process exited with code 3`,
      );
      expect(readFileSync(join(efi, "grub.cfg"), "utf8")).toBe("previous\n");
    });

    it("a generator that cannot run, or exits 0 without writing its file, is an error naming it", () => {
      mkdirSync(join(path, "boot/grub2"), { recursive: true });
      writeFileSync(join(path, "boot/grub2/grub.cfg"), "static\n");
      const missing = join(t.dir, "no-such-generator");
      let s = Sysroot.unloaded(path, {
        env: { ...process.env, OSTREE_GRUB2_EXEC: missing } as Record<string, string>,
      });
      expect(() => queryBootloader(s)?.writeConfig(s, 1, [])).toThrow(new RegExp(`^${missing}: .*ENOENT`));
      const silent = join(t.dir, "silent.sh");
      writeFileSync(silent, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      s = Sysroot.unloaded(path, {
        env: { ...process.env, OSTREE_GRUB2_EXEC: silent } as Record<string, string>,
      });
      expect(() => queryBootloader(s)?.writeConfig(s, 1, [])).toThrow(
        `Cannot open "${join(path, "boot/loader.1/grub.cfg")}" written by ${silent}`,
      );
      expect(readFileSync(join(path, "boot/grub2/grub.cfg"), "utf8")).toBe("static\n");
    });

    it("sysroot.bootloader=grub2 means the BIOS layout even with an EFI config (as ostree)", () => {
      mkdirSync(join(path, "boot/efi/EFI/debian"), { recursive: true });
      writeFileSync(join(path, "boot/efi/EFI/debian/grub.cfg"), "previous\n");
      const s = Sysroot.unloaded(path, { env: fakeGenerator() });
      s.repo().config.set("sysroot", "bootloader", "grub2");
      expect(queryBootloader(s)?.atomic).toBe(true);
    });

    it("zipl is a valid value but refused with a clear error", () => {
      const s = Sysroot.unloaded(path);
      s.repo().config.set("sysroot", "bootloader", "zipl");
      expect(() => queryBootloader(s)).toThrow("Cannot use bootloader 'zipl': not supported by arbor");
    });
  });

  describe("instutil grub2-generate (the entries 15_ostree prints)", () => {
    const env = { GRUB2_BOOT_DEVICE_ID: "dev'1", GRUB2_PREPARE_ROOT_CACHE: "search --set=root x" };

    it("one menuentry per BLS entry, in entry order, titles and ids shell-quoted", () => {
      const out = grub2MenuEntries(Sysroot.unloaded(path), 1, env);
      const heads = out.split("\n").filter((l) => l.startsWith("menuentry "));
      expect(heads).toEqual([
        "menuentry 'OS A (ostree:0)' --class gnu-linux --class gnu --class os --unrestricted 'ostree-0-dev'\\''1' {",
        "menuentry 'OS B (ostree:1)' --class gnu-linux --class gnu --class os --unrestricted 'ostree-1-dev'\\''1' {",
      ]);
      expect(out).toContain(
        "search --set=root x\nlinux /ostree/os-c/vmlinuz-1 root=x ostree=/ostree/boot.1/os/c/2\n",
      );
      expect(grub2MenuEntries(Sysroot.unloaded(path), 0, env)).toBe(""); // no loader.0 entries
      expect(shellQuote("it's")).toBe("'it'\\''s'");
    });

    it("refuses without 15_ostree's environment, and an entry without linux", () => {
      const s = Sysroot.unloaded(path);
      expect(() => grub2MenuEntries(s, 1, { GRUB2_BOOT_DEVICE_ID: "x" })).toThrow(
        /GRUB2_BOOT_DEVICE_ID and GRUB2_PREPARE_ROOT_CACHE must be set/,
      );
      writeFileSync(join(path, "boot/loader.1/entries/ostree-3-os.conf"), "title no kernel\nversion 3\n");
      expect(() => grub2MenuEntries(s, 1, env)).toThrow('No "linux" key in bootloader config');
    });
  });

  it("joinLines() drops a leading empty line and every empty line after the first", () => {
    expect(joinLines(["", "a", "", "b", "", "c"])).toBe("a\n\nb\nc\n");
  });
});
