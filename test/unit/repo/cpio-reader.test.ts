import { describe, expect, it } from "vitest";
import { type CpioEntry, isCpioMagic, readCpio } from "../../../src/repo/cpio-reader.js";

interface M {
  name: string;
  mode: number;
  data?: Buffer | string;
  ino?: number;
  nlink?: number;
  namesize?: number;
  size?: number;
}
const hex = (n: number): string => n.toString(16).padStart(8, "0");
const pad = (n: number): Buffer => Buffer.alloc((4 - (n % 4)) % 4);

/** One newc member, optionally with lying name/data sizes. */
function member(m: M, magic = "070701"): Buffer {
  const data = Buffer.from(m.data ?? "");
  const name = Buffer.from(`${m.name}\0`);
  const f = [
    m.ino ?? 1,
    m.mode,
    0,
    0,
    m.nlink ?? 1,
    0,
    m.size ?? data.length,
    0,
    0,
    0,
    0,
    m.namesize ?? name.length,
    0,
  ];
  const h = Buffer.from(magic + f.map(hex).join(""), "latin1");
  return Buffer.concat([h, name, pad(110 + name.length), data, pad(data.length)]);
}
const trailer = (): Buffer => member({ name: "TRAILER!!!", mode: 0 });

async function read(...parts: Buffer[]): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  // one byte at a time: the reader must reassemble across chunk boundaries
  const bytes = Buffer.concat(parts);
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
  }
  for await (const e of readCpio(chunks())) out.push(e);
  return out;
}

describe("readCpio", () => {
  it("reads directories, files, symlinks and resolves hard-link sets (data on the last)", async () => {
    const es = await read(
      member({ name: ".", mode: 0o40755 }),
      member({ name: "a", mode: 0o100644, ino: 5, nlink: 3 }),
      member({ name: "b", mode: 0o100644, ino: 5, nlink: 3 }),
      member({ name: "c", mode: 0o100644, ino: 5, nlink: 3, data: "hello" }),
      member({ name: "l", mode: 0o120777, data: "c" }, "070702"),
      member({ name: "e1", mode: 0o100600, ino: 9, nlink: 2 }),
      member({ name: "e2", mode: 0o100600, ino: 9, nlink: 2 }),
      trailer(),
    );
    expect(es.map((e) => `${e.kind}:${e.path}`)).toEqual([
      "dir:.",
      "file:c",
      "hardlink:a",
      "hardlink:b",
      "symlink:l",
      "file:e1",
      "hardlink:e2",
    ]);
    expect((es[1] as { data: Buffer }).data.toString()).toBe("hello");
    expect(es[2]).toMatchObject({ target: "c" });
    expect(es[4]).toMatchObject({ target: "c" });
    expect((es[5] as { data: Buffer }).data.length).toBe(0);
  });

  it("detects the magic", () => {
    expect(isCpioMagic(Buffer.from("070701"))).toBe(true);
    expect(isCpioMagic(Buffer.from("070702"))).toBe(true);
    expect(isCpioMagic(Buffer.from("070707"))).toBe(false);
    expect(isCpioMagic(Buffer.from("07"))).toBe(false);
  });

  const bad: [string, () => Buffer[], RegExp][] = [
    ["a missing trailer", () => [member({ name: "a", mode: 0o100644, data: "x" })], /missing TRAILER/],
    ["a truncated header", () => [member({ name: "a", mode: 0o100644 }).subarray(0, 50)], /truncated header/],
    [
      "truncated data",
      () => [member({ name: "a", mode: 0o100644, data: "xyz", size: 4000 })],
      /truncated data of "a"/,
    ],
    [
      "bad magic",
      () => [Buffer.concat([Buffer.from("070707"), member({ name: "a", mode: 0 }).subarray(6)])],
      /bad magic "070707"/,
    ],
    [
      "bad hex",
      () => {
        const b = member({ name: "a", mode: 0o100644 });
        b.write("zz", 20, "latin1");
        return [b];
      },
      /bad hex in mode field/,
    ],
    ["a zero name size", () => [member({ name: "a", mode: 0o100644, namesize: 0 })], /bad name size 0/],
    [
      "a huge name size",
      () => [member({ name: "a", mode: 0o100644, namesize: 0x7fffffff })],
      /bad name size/,
    ],
    [
      "a huge member",
      () => [member({ name: "a", mode: 0o100644, size: 0xffffffff })],
      /truncated data of "a"|too large/,
    ],
    ["a name without NUL", () => [member({ name: "ab", mode: 0o100644, namesize: 2 })], /not NUL-terminated/],
    ["a NUL inside a name", () => [member({ name: "a\0b", mode: 0o100644 }), trailer()], /contains a NUL/],
    ["an empty symlink target", () => [member({ name: "s", mode: 0o120777 }), trailer()], /empty target/],
    [
      "a device node",
      () => [member({ name: "d", mode: 0o20644 }), trailer()],
      /unsupported file type \(mode 20644\)/,
    ],
  ];
  it.each(bad)("refuses %s", async (_label, make, re) => {
    const err = await read(...make()).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe("OBJECT_CORRUPT");
    expect(err.message).toMatch(/^malformed cpio data: /);
    expect(err.message).toMatch(re);
  });

  it("returns names with .. as stored (the importer refuses them)", async () => {
    const es = await read(member({ name: "../x", mode: 0o100644, data: "x" }), trailer());
    expect(es[0]!.path).toBe("../x");
  });
});
