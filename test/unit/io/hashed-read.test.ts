// io/hashed-read.ts: whole files read and hashed (prefix first) on the thread pool, in batches.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashedReader } from "../../../src/io/hashed-read.js";
import { native } from "../../../src/io/native.js";
import { makeTmpDir } from "./_helpers.js";

let root: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir: root, cleanup } = makeTmpDir("arbor-hashed-"));
});
afterAll(() => cleanup());

const sha = (...parts: Array<string | Uint8Array>) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex");
};

describe("hashedReader()", () => {
  it("gives each file's bytes and the digest of prefix + bytes, many at once", async () => {
    const read = hashedReader()!;
    const prefix = Buffer.from("header bytes");
    const names = Array.from({ length: 25 }, (_, i) => `f${i}`);
    for (const n of names) fs.writeFileSync(join(root, n), n.repeat(100));
    fs.writeFileSync(join(root, "empty"), "");
    const got = await Promise.all([...names, "empty"].map((n) => read(join(root, n), prefix)));
    got.forEach(([data, digest], i) => {
      const want = i < names.length ? names[i]!.repeat(100) : "";
      expect(data.toString()).toBe(want);
      expect(digest).toBe(sha(prefix, want));
    });
  });

  it("rejects only the caller whose file cannot be read", async () => {
    const read = hashedReader()!;
    fs.writeFileSync(join(root, "ok"), "ok");
    const [a, b] = await Promise.allSettled([
      read(join(root, "ok"), new Uint8Array(0)),
      read(join(root, "missing"), new Uint8Array(0)),
    ]);
    expect(a.status === "fulfilled" && a.value[1]).toBe(sha("ok"));
    expect(b.status === "rejected" && (b.reason as { code: string }).code).toBe("ENOENT");
  });

  it("the addon refuses malformed items synchronously", () => {
    const r = native().readFilesHashed!;
    expect(() => r([["a"] as never], 10)).toThrow(/item 0 must be \[path, prefix\]/);
    expect(() => r([["a", "not bytes" as never]], 10)).toThrow();
    expect(() => r({} as never, 10)).toThrow(/array of \[path, prefix\]/);
  });
});
