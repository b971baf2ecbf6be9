// The addon's writeObjectFile (native/write_file.c): one bare or archive object file created in
// one thread-pool trip, unnamed until complete.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { native } from "../../../src/io/native.js";
import { makeTmpDir, probeUserXattrs } from "./_helpers.js";

let root: string;
let cleanup: () => void;
let xattrs: { ok: boolean; reason: string };
let seq = 0;

beforeAll(() => {
  ({ dir: root, cleanup } = makeTmpDir("arbor-wof-"));
  xattrs = probeUserXattrs(root);
});
afterAll(() => cleanup());

function freshDir(): string {
  const d = join(root, `d${seq++}`);
  fs.mkdirSync(d);
  return d;
}

const isRoot = process.getuid?.() === 0;

describe("writeObjectFile", () => {
  it("writes the data, sets mode and mtime 0, and leaves nothing else in the directory", async () => {
    const d = freshDir();
    const p = join(d, "obj.file");
    const data = Buffer.from("hello object\n".repeat(1000));
    await native().writeObjectFile!(p, data, 0o755, -1, -1, []);
    const st = fs.lstatSync(p);
    expect(st.isFile()).toBe(true);
    expect(st.mode & 0o7777).toBe(0o755);
    expect(st.mtimeMs).toBe(0);
    expect(st.nlink).toBe(1);
    expect(fs.readFileSync(p).equals(data)).toBe(true);
    expect(fs.readdirSync(d)).toEqual(["obj.file"]);
  });

  it("sets each xattr", async (ctx) => {
    if (!xattrs.ok) ctx.skip();
    const p = join(freshDir(), "x.file");
    await native().writeObjectFile!(p, Buffer.from("x"), 0o644, -1, -1, [
      "user.ostreemeta",
      Uint8Array.of(1, 2, 3),
      "user.second",
      new Uint8Array(0),
    ]);
    expect([...native().lgetxattr(p, "user.ostreemeta")!]).toEqual([1, 2, 3]);
    expect(native().lgetxattr(p, "user.second")!.length).toBe(0);
  });

  it("keeps the write time when zeroTimes is false (archive objects)", async () => {
    const p = join(freshDir(), "a.filez");
    const before = Date.now() - 5000;
    await native().writeObjectFile!(p, Buffer.from("z"), 0o644, -1, -1, [], false);
    const st = fs.statSync(p);
    expect(st.mtimeMs).toBeGreaterThan(before);
    expect(st.mode & 0o7777).toBe(0o644);
  });

  it("replaces a file left at the path, as O_TRUNC did", async () => {
    const p = join(freshDir(), "r.file");
    fs.writeFileSync(p, "old and longer content");
    await native().writeObjectFile!(p, Buffer.from("new"), 0o600, -1, -1, []);
    expect(fs.readFileSync(p, "utf8")).toBe("new");
    expect(fs.readdirSync(join(p, ".."))).toEqual(["r.file"]);
  });

  it.skipIf(!isRoot)("chowns before chmod, so setuid/setgid bits survive (bare mode)", async () => {
    const p = join(freshDir(), "s.file");
    await native().writeObjectFile!(p, Buffer.from("s"), 0o6755, 1234, 5678, []);
    const st = fs.lstatSync(p);
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
    expect(st.mode & 0o7777).toBe(0o6755);
  });

  it("rejects with a Node-style system error naming the call and the path", async () => {
    const p = join(root, "missing-dir", "o.file");
    const e = await native().writeObjectFile!(p, Buffer.from("a"), 0o644, -1, -1, []).then(
      () => null,
      (err: NodeJS.ErrnoException) => err,
    );
    expect(e?.code).toBe("ENOENT");
    expect(e?.syscall).toBe("open");
    expect(e?.path).toBe(p);
    expect(e?.message).toContain("ENOENT: no such file or directory, open");
  });

  it.skipIf(!isRoot)("reports ENOSPC on a full filesystem and leaves no name behind", async (ctx) => {
    const mnt = freshDir();
    if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).status !== 0) ctx.skip();
    try {
      const p = join(mnt, "big.file");
      const e = await native().writeObjectFile!(p, Buffer.alloc(1 << 20, 7), 0o644, -1, -1, []).then(
        () => null,
        (err: NodeJS.ErrnoException) => err,
      );
      expect(e?.code).toBe("ENOSPC");
      expect(e?.syscall).toBe("write");
      expect(fs.existsSync(p)).toBe(false);
    } finally {
      spawnSync("umount", [mnt]);
    }
  });

  it("refuses bad arguments synchronously", () => {
    const p = join(root, "never.file");
    const w = native().writeObjectFile!;
    expect(() => w(p, Buffer.from("a"), 0o644, -1, -1, {} as never)).toThrow(/xattrs must be an array/);
    expect(() => w(p, Buffer.from("a"), 0o644, -1, -1, ["user.x"])).toThrow(/name, value pairs/);
    expect(() => w(p, Buffer.from("a"), 0o644, -2, -1, [])).toThrow(/uid must be -1 or a 32-bit id/);
    expect(() => w(p, "text" as never, 0o644, -1, -1, [])).toThrow(/data must be a Uint8Array/);
    expect(() => w(`${p}\0x`, Buffer.from("a"), 0o644, -1, -1, [])).toThrow(/NUL/);
    expect(() => w(p, Buffer.from("a"), 0o644, -1, -1, [], 1 as never)).toThrow(
      /zeroTimes must be a boolean/,
    );
    expect(fs.existsSync(p)).toBe(false);
  });
});

describe("writeObjectFiles (many files, one pool trip)", () => {
  it("writes every item and reports each outcome in order; one failing does not stop the rest", async () => {
    const d = freshDir();
    const a = join(d, "a.file");
    const missing = join(d, "no-such-dir", "b.file");
    const c = join(d, "c.file");
    const results = await native().writeObjectFiles!([
      [a, Buffer.from("alpha"), 0o644, -1, -1, []],
      [missing, Buffer.from("beta"), 0o644, -1, -1, []],
      [c, Buffer.from("gamma"), 0o600, -1, -1, [], false],
    ]);
    expect(results).toHaveLength(3);
    expect(results[0]).toBeUndefined();
    expect((results[1] as NodeJS.ErrnoException).code).toBe("ENOENT");
    expect((results[1] as NodeJS.ErrnoException).path).toBe(missing);
    expect(results[2]).toBeUndefined();
    expect(fs.readFileSync(a, "utf8")).toBe("alpha");
    expect(fs.lstatSync(a).mtimeMs).toBe(0);
    expect(fs.readFileSync(c, "utf8")).toBe("gamma");
    expect(fs.lstatSync(c).mode & 0o7777).toBe(0o600);
    expect(fs.lstatSync(c).mtimeMs).toBeGreaterThan(0); // zeroTimes false: write time kept
    expect(fs.readdirSync(d).sort()).toEqual(["a.file", "c.file"]);
  });

  it("an empty batch resolves to no results", async () => {
    expect(await native().writeObjectFiles!([])).toEqual([]);
  });

  it("refuses bad arguments in any item synchronously, naming it, and writes nothing", () => {
    const d = freshDir();
    const ok = join(d, "ok.file");
    const w = native().writeObjectFiles!;
    expect(() => w({} as never)).toThrow(/array of items/);
    expect(() => w([[ok, Buffer.from("a"), 0o644, -1, -1, []], ["x"] as never])).toThrow(/item 1 must be/);
    expect(() =>
      w([
        [ok, Buffer.from("a"), 0o644, -1, -1, []],
        [ok, Buffer.from("b"), 0o644, -7, -1, []],
      ]),
    ).toThrow(/uid must be -1/);
    expect(fs.readdirSync(d)).toEqual([]);
  });
});

describe("writeObjectFile with unpack (a raw-deflate body inflated and checked on the pool)", () => {
  const data = Buffer.from("unpacked object data\n".repeat(500));
  const deflated = deflateRawSync(data);
  const prefix = Buffer.from("canonical header bytes");
  const digest = createHash("sha256").update(prefix).update(data).digest();

  it("writes the inflated bytes when their digest matches", async () => {
    const p = join(freshDir(), "u.file");
    await native().writeObjectFile!(p, deflated, 0o644, -1, -1, [], true, [data.length, prefix, digest]);
    expect(fs.readFileSync(p).equals(data)).toBe(true);
    expect(fs.lstatSync(p).mtimeMs).toBe(0);
  });

  it("inflates without a digest check when prefix and expected are null; empty data works", async () => {
    const d = freshDir();
    await native().writeObjectFile!(join(d, "a"), deflated, 0o644, -1, -1, [], true, [
      data.length,
      null,
      null,
    ]);
    expect(fs.readFileSync(join(d, "a")).equals(data)).toBe(true);
    await native().writeObjectFile!(join(d, "e"), deflateRawSync(Buffer.alloc(0)), 0o644, -1, -1, [], true, [
      0,
      null,
      null,
    ]);
    expect(fs.statSync(join(d, "e")).size).toBe(0);
  });

  /** The error a refused body rejects with; the directory must stay empty. */
  async function refused(
    body: Uint8Array | readonly Uint8Array[],
    unpack: readonly [number, Uint8Array | null, Uint8Array | null],
  ) {
    const d = freshDir();
    const e = await native().writeObjectFile!(join(d, "x.file"), body, 0o644, -1, -1, [], true, unpack).then(
      () => null,
      (err: unknown) => err as Error & { code: string; actual?: string },
    );
    expect(fs.readdirSync(d)).toEqual([]);
    if (!e) throw new Error("expected the write to be refused");
    return e;
  }

  it("refuses a digest mismatch, giving the digest found, and creates nothing", async () => {
    const e = await refused(deflated, [data.length, prefix, Buffer.alloc(32)]);
    expect(e.code).toBe("ERR_ARBOR_CHECKSUM");
    expect(e.actual).toBe(digest.toString("hex"));
  });

  it("refuses bodies that inflate to more or fewer bytes than declared, are cut short or are not deflate", async () => {
    expect((await refused(deflated, [data.length + 1, null, null])).message).toBe(
      `data is ${data.length} bytes, header says ${data.length + 1}`,
    );
    expect((await refused(deflated, [data.length - 1, null, null])).message).toBe(
      `data is larger than the ${data.length - 1} bytes the header says`,
    );
    // a bomb: 4 MiB of zeros declared as 10 bytes stops at the 11th
    expect((await refused(deflateRawSync(Buffer.alloc(4 << 20)), [10, null, null])).message).toMatch(
      /larger than/,
    );
    expect(
      (await refused(deflated.subarray(0, deflated.length - 4), [data.length, null, null])).message,
    ).toBe("cannot decompress: unexpected end of file");
    expect((await refused(Buffer.alloc(0), [0, null, null])).message).toBe(
      "cannot decompress: unexpected end of file",
    );
    const junk = await refused(Buffer.from("this is not deflate data at all"), [data.length, null, null]);
    expect(junk.code).toBe("ERR_ARBOR_INFLATE");
    expect(junk.message).toMatch(/^cannot decompress: /);
  });

  it("reads a body given as chunks in order, however it is cut (empty chunks too)", async () => {
    expect(native().UNPACK_CHUNKS).toBe(true);
    const cuts = (n: number) => {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < deflated.length; i += n) parts.push(deflated.subarray(i, i + n), Buffer.alloc(0));
      return parts;
    };
    const d = freshDir();
    for (const [name, parts] of [
      ["one", [deflated]],
      ["bytes", cuts(1)],
      ["sevens", cuts(7)],
      ["halves", [Buffer.alloc(0), deflated.subarray(0, 100), deflated.subarray(100)]],
    ] as const) {
      await native().writeObjectFile!(join(d, name), parts, 0o644, -1, -1, [], true, [
        data.length,
        prefix,
        digest,
      ]);
      expect(fs.readFileSync(join(d, name)).equals(data), name).toBe(true);
    }
    const r = await native().writeObjectFiles!([
      [join(d, "batched"), cuts(1000), 0o644, -1, -1, [], true, [data.length, null, null]],
    ]);
    expect(r).toEqual([undefined]);
    expect(fs.readFileSync(join(d, "batched")).equals(data)).toBe(true);
  });

  it("refuses chunked bodies as whole ones: cut short, too long, bytes after the stream are ignored", async () => {
    const half = deflated.length >> 1;
    expect((await refused(deflated.subarray(0, -4), [data.length, null, null])).message).toBe(
      "cannot decompress: unexpected end of file",
    );
    const short = [deflated.subarray(0, half), deflated.subarray(half, deflated.length - 4)];
    expect((await refused(short, [data.length, null, null])).message).toBe(
      "cannot decompress: unexpected end of file",
    );
    expect((await refused([], [0, null, null])).message).toBe("cannot decompress: unexpected end of file");
    expect(
      (await refused([deflated.subarray(0, half), deflated.subarray(half)], [data.length - 1, null, null]))
        .message,
    ).toBe(`data is larger than the ${data.length - 1} bytes the header says`);
    const d = freshDir();
    await native().writeObjectFile!(
      join(d, "trailing"),
      [deflated.subarray(0, half), deflated.subarray(half), Buffer.from("after the end")],
      0o644,
      -1,
      -1,
      [],
      true,
      [data.length, prefix, digest],
    );
    expect(fs.readFileSync(join(d, "trailing")).equals(data)).toBe(true);
  });

  it("takes chunks only with unpack, and only Uint8Arrays", () => {
    const p = join(freshDir(), "bad");
    const w = (body: unknown, unpack: unknown, pack?: unknown) => () =>
      (native().writeObjectFile as (...a: unknown[]) => Promise<void>)(
        p,
        body,
        0o644,
        -1,
        -1,
        [],
        true,
        unpack,
        pack,
      );
    expect(w([deflated], undefined)).toThrow(/only with unpack/);
    expect(w([deflated], undefined, Buffer.from("head"))).toThrow(/only with unpack/);
    expect(w([deflated, "text"], [data.length, null, null])).toThrow(
      /each chunk of data must be a Uint8Array/,
    );
    expect(fs.existsSync(p)).toBe(false);
  });

  it("reports each item of a batch on its own", async () => {
    const d = freshDir();
    const r = await native().writeObjectFiles!([
      [join(d, "good"), deflated, 0o644, -1, -1, [], true, [data.length, prefix, digest]],
      [join(d, "bad"), deflated, 0o644, -1, -1, [], true, [data.length, prefix, Buffer.alloc(32)]],
    ]);
    expect(r[0]).toBeUndefined();
    expect((r[1] as Error & { code: string }).code).toBe("ERR_ARBOR_CHECKSUM");
    expect(fs.readdirSync(d)).toEqual(["good"]);
  });

  it("refuses malformed unpack arguments synchronously", () => {
    const p = join(freshDir(), "bad");
    const w = (u: unknown) => () =>
      (native().writeObjectFile as (...a: unknown[]) => Promise<void>)(
        p,
        deflated,
        0o644,
        -1,
        -1,
        [],
        true,
        u,
      );
    expect(w([1, 2])).toThrow(/unpack must be/);
    expect(w([-1, null, null])).toThrow(/unpack size/);
    expect(w([65 * 1024 * 1024, null, null])).toThrow(/unpack size/);
    expect(w([1, prefix, null])).toThrow(/go together/);
    expect(w([1, prefix, Buffer.alloc(31)])).toThrow(/32-byte/);
    expect(fs.existsSync(p)).toBe(false);
  });
});

describe("writeObjectFile with pack (an archive object compressed on the pool)", () => {
  const head = Buffer.from("HEADER\0\0");
  const body = Buffer.from("archive me ".repeat(5000));

  it("writes head ‖ raw-deflate(data) at level 6, as Node's deflateRaw makes it", async () => {
    const p = join(freshDir(), "o.filez");
    await (native().writeObjectFile as (...a: unknown[]) => Promise<void>)(
      p,
      body,
      0o644,
      -1,
      -1,
      [],
      false,
      undefined,
      head,
    );
    const got = fs.readFileSync(p);
    expect(got.subarray(0, head.length)).toEqual(head);
    expect(got.subarray(head.length)).toEqual(deflateRawSync(body, { level: 6 }));
    expect(fs.statSync(p).mode & 0o7777).toBe(0o644);
    expect(fs.statSync(p).mtimeMs).toBeGreaterThan(0); // zeroTimes false kept
  });

  it("packs empty data and each item of a batch", async () => {
    const d = freshDir();
    const r = await native().writeObjectFiles!([
      [join(d, "empty"), Buffer.alloc(0), 0o644, -1, -1, [], false, undefined, head],
      [join(d, "full"), body, 0o644, -1, -1, [], false, undefined, Buffer.alloc(0)],
    ]);
    expect(r).toEqual([undefined, undefined]);
    expect(fs.readFileSync(join(d, "empty"))).toEqual(
      Buffer.concat([head, deflateRawSync(Buffer.alloc(0), { level: 6 })]),
    );
    expect(fs.readFileSync(join(d, "full"))).toEqual(deflateRawSync(body, { level: 6 }));
  });

  it("refuses malformed pack arguments synchronously", () => {
    const p = join(freshDir(), "bad");
    const w = (unpack: unknown, pack: unknown) => () =>
      (native().writeObjectFile as (...a: unknown[]) => Promise<void>)(
        p,
        body,
        0o644,
        -1,
        -1,
        [],
        false,
        unpack,
        pack,
      );
    expect(w(undefined, 42)).toThrow(TypeError);
    expect(w(undefined, "head")).toThrow(/pack head must be a Uint8Array/);
    expect(w([1, null, null], head)).toThrow(/pack and unpack/);
    expect(() =>
      native().writeObjectFiles!([[p, body, 0o644, -1, -1, [], false, undefined, head, 1] as never]),
    ).toThrow(/item 0 must be/);
    expect(fs.existsSync(p)).toBe(false);
  });
});

describe("renameFiles (many renames, one pool trip)", () => {
  it("renames each pair in order and reports each outcome; one failing does not stop the rest", async () => {
    const d = freshDir();
    for (const n of ["a", "c"]) fs.writeFileSync(join(d, n), n);
    const r = await native().renameFiles!([
      [join(d, "a"), join(d, "A")],
      [join(d, "missing"), join(d, "B")],
      [join(d, "c"), join(d, "C")],
    ]);
    expect(r[0]).toBeUndefined();
    expect(r[1]).toMatchObject({
      code: "ENOENT",
      syscall: "rename",
      path: join(d, "missing"),
      dest: join(d, "B"),
    });
    expect(r[2]).toBeUndefined();
    expect(fs.readdirSync(d).sort()).toEqual(["A", "C"]);
    expect(fs.readFileSync(join(d, "C"), "utf8")).toBe("c");
  });

  it("refuses bad pairs synchronously, naming the item, and renames nothing", () => {
    const d = freshDir();
    fs.writeFileSync(join(d, "a"), "a");
    const w = native().renameFiles!;
    expect(() => w({} as never)).toThrow(/array of \[from, to\] pairs/);
    expect(() => w([[join(d, "a"), join(d, "b")], [join(d, "a")] as never])).toThrow(/item 1 must be/);
    expect(() => w([[join(d, "a"), "bad\0name"]])).toThrow();
    expect(fs.readdirSync(d)).toEqual(["a"]);
  });
});

describe("fsyncPaths (many fsyncs, one pool trip)", () => {
  it("fsyncs each path (files and directories) and reports each outcome, in order", async () => {
    const d = freshDir();
    fs.writeFileSync(join(d, "f"), "data");
    const r = await native().fsyncPaths!([d, join(d, "f"), join(d, "missing"), "/dev/null", d]);
    expect(r).toHaveLength(5);
    expect(r[0]).toBeUndefined();
    expect(r[1]).toBeUndefined();
    expect(r[2]).toMatchObject({ code: "ENOENT", syscall: "open", path: join(d, "missing") });
    // a character device cannot be synchronised: the fsync itself fails, named
    expect(r[3]).toMatchObject({ code: "EINVAL", syscall: "fsync", path: "/dev/null" });
    expect(r[4]).toBeUndefined();
    expect(await native().fsyncPaths!([])).toEqual([]);
  });

  it("refuses bad paths synchronously, naming the item", () => {
    const f = native().fsyncPaths!;
    expect(() => f("nope" as never)).toThrow(/array of paths/);
    expect(() => f(["/tmp", 42 as never])).toThrow(/paths\[1\]/);
    expect(() => f(["bad\0path"])).toThrow();
  });
});

describe("readFiles (many small files, one pool trip)", () => {
  it("gives each file's bytes, the size of those over the limit, and each failure, in order", async () => {
    const d = freshDir();
    fs.writeFileSync(join(d, "small"), "hello");
    fs.writeFileSync(join(d, "empty"), "");
    fs.writeFileSync(join(d, "large"), Buffer.alloc(100, 7));
    const r = await native().readFiles!(
      [join(d, "small"), join(d, "missing"), join(d, "large"), join(d, "empty"), d],
      50,
    );
    expect(Buffer.isBuffer(r[0]) && r[0].toString()).toBe("hello");
    expect(r[1]).toMatchObject({ code: "ENOENT", syscall: "open", path: join(d, "missing") });
    expect(r[2]).toBe(100);
    expect(Buffer.isBuffer(r[3]) && r[3].length).toBe(0);
    expect(r[4]).toMatchObject({ code: "EINVAL" }); // a directory is not a file to read
  });

  it("refuses a FIFO without waiting for a writer", async () => {
    const d = freshDir();
    const fifo = join(d, "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    const r = await native().readFiles!([fifo], 50);
    expect(r[0]).toMatchObject({ code: "EINVAL", path: fifo });
  });

  it("refuses bad arguments synchronously", () => {
    const r = native().readFiles!;
    expect(() => r({} as never, 10)).toThrow(/array of paths/);
    expect(() => r(["/x"], -1)).toThrow();
    expect(() => r(["/x"], 65 * 1024 * 1024)).toThrow(/at most 64 MiB/);
    expect(() => r(["a\0b"], 10)).toThrow();
  });
});

/** The scheduling policy of each thread of this process, by thread id (field 41 of its stat). */
function threadPolicies(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync("/proc/self/task")) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    // fields after the command name (which may hold spaces and parentheses) start at field 3
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(Number(tid), Number(fields[41 - 3]));
  }
  return out;
}

describe("pool threads", () => {
  it("run the addon's jobs in SCHED_BATCH, and the main thread keeps the default policy", async () => {
    const d = freshDir();
    const items = Array.from({ length: 8 }, (_, i) => [
      join(d, `o${i}`),
      Buffer.from(`x${i}`),
      0o644,
      -1,
      -1,
      [],
    ]);
    await native().writeObjectFiles!(items as never);
    const SCHED_OTHER = 0;
    const SCHED_BATCH = 3;
    const policies = threadPolicies();
    expect(policies.get(process.pid)).toBe(SCHED_OTHER);
    expect([...policies.values()].filter((p) => p === SCHED_BATCH).length).toBeGreaterThanOrEqual(1);
  });
});
