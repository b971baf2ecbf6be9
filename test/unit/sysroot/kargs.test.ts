import { describe, expect, it } from "vitest";
import { KernelArgs, kargsFromProcCmdline } from "../../../src/sysroot/kargs.js";

describe("KernelArgs", () => {
  it("parse() and toString() round-trip, including bare keys", () => {
    expect(KernelArgs.parse("root=/dev/vda quiet ro").toString()).toBe("root=/dev/vda quiet ro");
    expect(KernelArgs.parse("").toArgv()).toEqual([]);
    expect(KernelArgs.parse(undefined).toArgv()).toEqual([]);
  });

  it("parse() keeps an empty argument between double spaces, as g_strsplit does", () => {
    expect(KernelArgs.parse("a  b").toArgv()).toEqual(["a", "", "b"]);
  });

  it("replace() keeps the position of the first same-key argument and drops the others", () => {
    const k = KernelArgs.parse("a=1 ostree=/old b console=x console=y");
    k.replace("ostree=/new");
    k.replace("console=z");
    expect(k.toString()).toBe("a=1 ostree=/new b console=z");
  });

  it("replace() appends a new key at the end", () => {
    const k = KernelArgs.parse("a=1");
    k.replace("b=2");
    expect(k.toString()).toBe("a=1 b=2");
  });

  it("append() allows repeated keys; appendIfMissing() does not", () => {
    const k = KernelArgs.parse("console=a");
    k.append("console=b");
    k.appendIfMissing("console=c");
    k.appendIfMissing("quiet");
    expect(k.toString()).toBe("console=a console=b quiet");
  });

  it("delete() by key when unique, by key=value among several", () => {
    const k = KernelArgs.parse("a=1 c=1 c=2 quiet");
    k.delete("a");
    k.delete("c=2");
    k.delete("quiet");
    expect(k.toString()).toBe("c=1");
  });

  it("delete() errors name the argument as ostree does", () => {
    expect(() => KernelArgs.parse("a=1").delete("b")).toThrow("No key 'b' found");
    expect(() => KernelArgs.parse("a=1").delete("a=2")).toThrow("No karg 'a=2' found");
    expect(() => KernelArgs.parse("c=1 c=2").delete("c")).toThrow("Multiple values for key 'c' found");
    expect(() => KernelArgs.parse("c=1 c=2").delete("c=3")).toThrow("No karg 'c=3' found");
  });

  it("lastValue() returns the last value, null for a bare key", () => {
    const k = KernelArgs.parse("x=1 q x=2");
    expect(k.lastValue("x")).toBe("2");
    expect(k.lastValue("q")).toBeNull();
    expect(k.lastValue("nope")).toBeUndefined();
  });

  it("kargsFromProcCmdline() drops BOOT_IMAGE= and initrd= and the trailing newline", () => {
    expect(kargsFromProcCmdline("BOOT_IMAGE=/vmlinuz root=/dev/sda initrd=/i quiet\n").toString()).toBe(
      "root=/dev/sda quiet",
    );
  });
});
