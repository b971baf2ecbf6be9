import { describe, expect, it } from "vitest";
import { mmdebstrapArgs } from "../../../src/managed/debian.js";

describe("mmdebstrapArgs", () => {
  const base = { suite: "bookworm", variant: "essential", packages: [] as string[] };

  it("bootstraps into a directory, without /dev, removing the build host's hostname and resolver", () => {
    const args = mmdebstrapArgs(base, "/tmp/x/rootfs");
    expect(args.slice(0, 4)).toEqual([
      "--variant=essential",
      "--mode=root",
      "--skip=output/dev",
      "--format=directory",
    ]);
    expect(args).toContain('--customize-hook=rm -f "$1/etc/hostname" "$1/etc/resolv.conf"');
    expect(args.slice(-2)).toEqual(["bookworm", "/tmp/x/rootfs"]);
    expect(args.some((a) => a.startsWith("--include") || a.startsWith("--aptopt"))).toBe(false);
  });

  it("includes packages, passes the mirror last, and accepts snapshot.debian.org's old Release files", () => {
    const mirror = "http://snapshot.debian.org/archive/debian/20250520T000000Z";
    const args = mmdebstrapArgs({ ...base, packages: ["systemd", "curl"], mirror }, "/d");
    expect(args).toContain("--include=systemd,curl");
    expect(args).toContain('--aptopt=Acquire::Check-Valid-Until "false"');
    expect(args.slice(-3)).toEqual(["bookworm", "/d", mirror]);
    const plain = mmdebstrapArgs({ ...base, mirror: "http://deb.debian.org/debian" }, "/d");
    expect(plain.some((a) => a.startsWith("--aptopt"))).toBe(false);
  });
});
