import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BootConfig, blsEntryName, isBlsEntryName, strverscmp } from "../../../src/sysroot/bootconfig.js";

describe("BootConfig", () => {
  it("serializes title, version, options, devicetree, linux, initrd in that order", () => {
    const bc = new BootConfig();
    bc.set("initrd", "/i");
    bc.set("linux", "/l");
    bc.set("options", "root=x");
    bc.set("version", "1");
    bc.set("title", "T");
    expect(bc.serialize()).toBe("title T\nversion 1\noptions root=x\nlinux /l\ninitrd /i\n");
  });

  it("parse() ignores lines not starting with a letter and splits at the first space or tab", () => {
    const bc = BootConfig.parse("# comment\n title x\ntitle  Two  words\noptions\ta b\nbogus\n\n");
    expect(bc.get("title")).toBe(" Two  words");
    expect(bc.get("options")).toBe("a b");
    expect(bc.get("bogus")).toBeUndefined();
  });

  it("a second initrd line is an overlay initrd and is written after the first", () => {
    const text = "title T\nlinux /l\ninitrd /i\ninitrd /ostree/initramfs-overlays/x.img\n";
    const bc = BootConfig.parse(text);
    expect(bc.overlayInitrds).toEqual(["/ostree/initramfs-overlays/x.img"]);
    expect(bc.serialize()).toBe(text);
  });

  it("a later duplicate key wins", () => {
    expect(BootConfig.parse("title a\ntitle b\n").get("title")).toBe("b");
  });

  it("unknown keys follow the fixed ones", () => {
    const bc = BootConfig.parse("title T\nlinux /l\nfdtdir /d\n");
    expect(bc.serialize()).toBe("title T\nlinux /l\nfdtdir /d\n");
  });
});

describe("entry names", () => {
  it("are ostree-(count-index)-OS.conf (2022.7)", () => {
    expect(blsEntryName(3, 0, "testos")).toBe("ostree-3-testos.conf");
    expect(blsEntryName(3, 2, "other")).toBe("ostree-1-other.conf");
    expect(isBlsEntryName("ostree-1-testos.conf")).toBe(true);
    expect(isBlsEntryName("other.conf")).toBe(false);
  });
});

describe("strverscmp()", () => {
  it("agrees with glibc on vectors produced by glibc's strverscmp(3)", () => {
    const vectors = JSON.parse(
      readFileSync(join(import.meta.dirname, "strverscmp-vectors.json"), "utf8"),
    ) as Array<[string, string, number]>;
    expect(vectors.length).toBeGreaterThan(400);
    for (const [a, b, r] of vectors) expect([a, b, Math.sign(strverscmp(a, b))]).toEqual([a, b, r]);
  });

  it("sorts entry versions numerically", () => {
    expect(["1", "10", "9", "2"].sort((a, b) => strverscmp(a, b))).toEqual(["1", "2", "9", "10"]);
  });
});
