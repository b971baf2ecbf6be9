import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FS_APPEND_FL, FS_IMMUTABLE_FL, hasNative, native } from "../../../src/io/native.js";
import { makeTmpDir, probeImmutable, probeUserXattrs } from "./_helpers.js";

let dir: string;
let cleanup: () => void;
let xattrs: { ok: boolean; reason: string };
let immutable: { ok: boolean; reason: string };

beforeAll(() => {
  ({ dir, cleanup } = makeTmpDir());
  xattrs = probeUserXattrs(dir);
  immutable = probeImmutable(dir);
});
afterAll(() => cleanup());

function file(name: string, content = "x"): string {
  const p = join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  throw new Error("expected a throw");
}

describe("native addon loading", () => {
  it("exports every documented function and the flag constants", () => {
    const n = native();
    for (const f of [
      "ofdLock",
      "ofdUnlock",
      "lgetxattr",
      "fgetxattr",
      "llistxattr",
      "flistxattr",
      "lsetxattr",
      "fsetxattr",
      "lremovexattr",
      "fremovexattr",
      "getInodeFlags",
      "setInodeFlags",
      "syncfs",
      "renameNoReplace",
      "renameExchange",
      "mknodWhiteout",
      "freezeThaw",
      "checkoutFiles",
      "checkoutDirs",
      "scanDir",
      "walkTrees",
    ] as const) {
      expect(typeof n[f], f).toBe("function");
    }
    expect(n.FS_IMMUTABLE_FL).toBe(FS_IMMUTABLE_FL);
    expect(n.FS_APPEND_FL).toBe(FS_APPEND_FL);
    expect(hasNative()).toBe(true);
  });

  it("is loaded lazily and reports a missing build as UNSUPPORTED with a build hint", async () => {
    vi.resetModules();
    const createRequire = vi.fn(() => () => {
      throw new Error("Cannot find module '../../native/build/Release/arbor_native.node'");
    });
    vi.doMock("node:module", () => ({ createRequire }));
    try {
      const mod = await import("../../../src/io/native.js");
      expect(createRequire).not.toHaveBeenCalled(); // importing must not load the addon
      let err: unknown;
      try {
        mod.native();
      } catch (e) {
        err = e;
      }
      // resetModules() gives the fresh module its own ArborError class, so check the shape.
      expect(err).toMatchObject({ name: "ArborError", code: "UNSUPPORTED" });
      expect((err as Error).message).toMatch(/npm ci.*build:native/);
      expect(mod.hasNative()).toBe(false);
    } finally {
      vi.doUnmock("node:module");
      vi.resetModules();
    }
  });
});

describe("xattrs", () => {
  it("round-trips binary values through l*/f* calls and lists names", (ctx) => {
    ctx.skip(!xattrs.ok, xattrs.reason);
    const n = native();
    const p = file("xa");
    const value = new Uint8Array([0, 1, 2, 255, 0, 42]);
    n.lsetxattr(p, "user.arbor.bin", value);
    expect(new Uint8Array(n.lgetxattr(p, "user.arbor.bin")!)).toEqual(value);
    n.lsetxattr(p, "user.arbor.empty", new Uint8Array(0));
    expect(n.lgetxattr(p, "user.arbor.empty")!.length).toBe(0);
    expect(n.llistxattr(p)).toEqual(expect.arrayContaining(["user.arbor.bin", "user.arbor.empty"]));

    const fd = fs.openSync(p, "r+");
    try {
      n.fsetxattr(fd, "user.arbor.fd", Buffer.from("via fd"));
      expect(n.fgetxattr(fd, "user.arbor.fd")!.toString()).toBe("via fd");
      expect(n.flistxattr(fd)).toContain("user.arbor.fd");
      n.fremovexattr(fd, "user.arbor.fd");
      expect(n.fgetxattr(fd, "user.arbor.fd")).toBeNull();
    } finally {
      fs.closeSync(fd);
    }
    n.lremovexattr(p, "user.arbor.bin");
    expect(n.lgetxattr(p, "user.arbor.bin")).toBeNull();
    expect(n.llistxattr(p)).not.toContain("user.arbor.bin");
  });

  it("reads values around the 256-byte first read exactly", (ctx) => {
    ctx.skip(!xattrs.ok, xattrs.reason);
    const p = file("xa-edge");
    for (const n of [0, 1, 255, 256, 257]) {
      const v = new Uint8Array(n).map((_, i) => (i * 7 + n) % 256);
      native().lsetxattr(p, "user.arbor.edge", v);
      expect(new Uint8Array(native().lgetxattr(p, "user.arbor.edge")!), `${n} bytes`).toEqual(v);
    }
  });

  it("reads values larger than a first small buffer (size is queried, not guessed)", (ctx) => {
    ctx.skip(!xattrs.ok, xattrs.reason);
    const p = file("xa-big");
    const big = new Uint8Array(3000).map((_, i) => i % 251);
    native().lsetxattr(p, "user.arbor.big", big);
    expect(new Uint8Array(native().lgetxattr(p, "user.arbor.big")!)).toEqual(big);
  });

  it("returns null for a missing attribute and throws ENODATA when removing one", (ctx) => {
    ctx.skip(!xattrs.ok, xattrs.reason);
    const p = file("xa-missing");
    expect(native().lgetxattr(p, "user.nope")).toBeNull();
    const e = thrown(() => native().lremovexattr(p, "user.nope"));
    expect(e.code).toBe("ENODATA");
  });

  it("never follows a symlink", (ctx) => {
    ctx.skip(!xattrs.ok, xattrs.reason);
    const target = file("xa-target");
    const link = join(dir, "xa-link");
    fs.symlinkSync(target, link);
    native().lsetxattr(target, "user.arbor.t", Buffer.from("t"));
    // Reading through the link sees the link's own (empty) attributes, not the target's.
    expect(native().lgetxattr(link, "user.arbor.t")).toBeNull();
    // The kernel refuses user.* xattrs on symlinks: the write must fail, not land on the target.
    const e = thrown(() => native().lsetxattr(link, "user.arbor.l", Buffer.from("l")));
    expect(["EPERM", "ENOTSUP"]).toContain(e.code);
    expect(native().lgetxattr(target, "user.arbor.l")).toBeNull();
  });

  it("throws Node-style errors with code, errno, syscall and path", () => {
    const missing = join(dir, "does-not-exist");
    const e = thrown(() => native().lgetxattr(missing, "user.x"));
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe("ENOENT");
    expect(e.errno).toBe(-2);
    expect(e.syscall).toBe("lgetxattr");
    expect(e.path).toBe(missing);
    expect(e.message).toBe(`ENOENT: no such file or directory, lgetxattr '${missing}'`);
  });

  it("rejects paths and names with embedded NUL bytes instead of truncating them", () => {
    const p = file("nul");
    expect(thrown(() => native().lgetxattr(`${p}\0ignored`, "user.x")).code).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrown(() => native().lgetxattr(p, "user.x\0y")).code).toBe("ERR_INVALID_ARG_VALUE");
    expect(thrown(() => native().lgetxattr(Buffer.from(`${p}\0`), "user.x")).code).toBe(
      "ERR_INVALID_ARG_VALUE",
    );
    expect(thrown(() => native().lsetxattr(p, "user.x", "str" as never)).code).toBe("ERR_INVALID_ARG_TYPE");
  });
});

describe("inode flags", () => {
  it("reads flags of files and directories but refuses symlinks and devices", () => {
    expect(typeof native().getInodeFlags(file("fl"))).toBe("number");
    expect(typeof native().getInodeFlags(dir)).toBe("number");
    const link = join(dir, "fl-link");
    fs.symlinkSync(join(dir, "fl"), link);
    expect(thrown(() => native().getInodeFlags(link)).code).toBe("ENOTSUP");
    expect(thrown(() => native().getInodeFlags("/dev/null")).code).toBe("ENOTSUP");
  });

  it("sets and clears FS_IMMUTABLE_FL (chattr +i) on a file and a directory", (ctx) => {
    ctx.skip(!immutable.ok, immutable.reason);
    const n = native();
    const d = join(dir, "imm-dir");
    fs.mkdirSync(d);
    const f = join(d, "f");
    fs.writeFileSync(f, "x");
    for (const p of [f, d]) {
      const before = n.getInodeFlags(p);
      n.setInodeFlags(p, before | n.FS_IMMUTABLE_FL);
      expect(n.getInodeFlags(p) & n.FS_IMMUTABLE_FL).toBe(n.FS_IMMUTABLE_FL);
    }
    expect(thrown(() => fs.unlinkSync(f)).code).toBe("EPERM");
    expect(thrown(() => fs.writeFileSync(join(d, "new"), "")).code).toBe("EPERM");
    for (const p of [d, f]) n.setInodeFlags(p, n.getInodeFlags(p) & ~n.FS_IMMUTABLE_FL);
    expect(n.getInodeFlags(f) & n.FS_IMMUTABLE_FL).toBe(0);
    fs.unlinkSync(f);
    fs.rmdirSync(d);
  });
});

describe("mknodWhiteout", () => {
  it("makes a 0:0 character device with the permission bits of mode only", (ctx) => {
    const p = join(dir, "wh");
    try {
      native().mknodWhiteout(p, 0o100644 | 0o4000);
    } catch (e) {
      ctx.skip(true, `mknod: ${(e as Error).message}`);
    }
    const st = fs.lstatSync(p);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
    expect(st.mode & 0o7777).toBe(0o4644 & ~process.umask() & 0o7777);
  });

  it("throws the system error, naming the path, when the name is taken or the parent is missing", () => {
    const p = file("wh-taken");
    const e = thrown(() => native().mknodWhiteout(p, 0o644));
    expect(e.code).toBe("EEXIST");
    expect(e.syscall).toBe("mknod");
    expect(e.path).toBe(p);
    expect(fs.lstatSync(p).isFile()).toBe(true);
    expect(thrown(() => native().mknodWhiteout(join(dir, "no-dir/wh"), 0o644)).code).toBe("ENOENT");
  });

  it("rejects bad arguments (TypeError; RangeError for a mode that is not a u32)", () => {
    const bad = native().mknodWhiteout as unknown as (...a: unknown[]) => unknown;
    expect(() => bad(join(dir, "wh-bad"))).toThrow(TypeError);
    expect(() => bad(join(dir, "wh-bad"), "644")).toThrow(RangeError);
    expect(() => bad(join(dir, "wh-bad"), -1)).toThrow(RangeError);
    expect(() => bad(`${join(dir, "wh-bad")}\0x`, 0o644)).toThrow(TypeError);
    expect(fs.existsSync(join(dir, "wh-bad"))).toBe(false);
  });
});

describe("renameat2", () => {
  it("renameNoReplace refuses to overwrite and renames otherwise", () => {
    const a = file("rn-a", "A");
    const b = file("rn-b", "B");
    const e = thrown(() => native().renameNoReplace(a, b));
    expect(e.code).toBe("EEXIST");
    expect(e.syscall).toBe("renameat2");
    expect(e.path).toBe(a);
    expect((e as { dest?: string }).dest).toBe(b);
    expect(fs.readFileSync(b, "utf8")).toBe("B");
    const c = join(dir, "rn-c");
    native().renameNoReplace(a, c);
    expect(fs.readFileSync(c, "utf8")).toBe("A");
    expect(fs.existsSync(a)).toBe(false);
  });

  it("renameExchange swaps a file and a directory atomically", () => {
    const f = file("ex-f", "F");
    const d = join(dir, "ex-d");
    fs.mkdirSync(d);
    native().renameExchange(f, d);
    expect(fs.statSync(f).isDirectory()).toBe(true);
    expect(fs.readFileSync(d, "utf8")).toBe("F");
    expect(thrown(() => native().renameExchange(f, join(dir, "ex-missing"))).code).toBe("ENOENT");
  });
});

describe("syncfs and OFD locks (single process)", () => {
  it("syncfs flushes the filesystem of an fd and rejects a bad fd", () => {
    const fd = fs.openSync(dir, "r");
    try {
      native().syncfs(fd);
    } finally {
      fs.closeSync(fd);
    }
    expect(thrown(() => native().syncfs(999_999)).code).toBe("EBADF");
  });

  it("two open file descriptions of one file conflict even within a process", () => {
    const p = file("lockfile", "");
    const a = fs.openSync(p, "r+");
    const b = fs.openSync(p, "r+");
    try {
      expect(native().ofdLock(a, true, false)).toBe(true);
      expect(native().ofdLock(b, false, false)).toBe(false);
      expect(native().ofdLock(a, false, false)).toBe(true); // downgrade on the same description
      expect(native().ofdLock(b, false, false)).toBe(true); // shared + shared
      expect(native().ofdLock(b, true, false)).toBe(false);
      native().ofdUnlock(a);
      expect(native().ofdLock(b, true, false)).toBe(true); // upgrade once alone
    } finally {
      fs.closeSync(a);
      fs.closeSync(b);
    }
  });

  it("an exclusive lock needs a writable descriptor", () => {
    const p = file("lock-ro", "");
    const fd = fs.openSync(p, "r");
    try {
      expect(thrown(() => native().ofdLock(fd, true, false)).code).toBe("EBADF");
      expect(native().ofdLock(fd, false, false)).toBe(true);
    } finally {
      fs.closeSync(fd);
    }
  });

  it("validates its arguments", () => {
    expect(thrown(() => native().ofdLock(-1, true, false)).code).toBe("ERR_OUT_OF_RANGE");
    expect(thrown(() => native().ofdLock(0, "yes" as never, false)).code).toBe("ERR_INVALID_ARG_TYPE");
    expect(thrown(() => (native().ofdLock as (...a: unknown[]) => boolean)(0)).code).toBe("ERR_MISSING_ARGS");
  });
});
