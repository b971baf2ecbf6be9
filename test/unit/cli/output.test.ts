import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { API_VERSION, fdSink, formatJson, Output } from "../../../src/cli/output.js";
import { captureSink, makeTmpDir } from "./_helpers.js";

describe("Output", () => {
  it("buffers lines and writes them in few calls", () => {
    const sink = captureSink();
    const out = new Output(sink);
    const lines = Array.from({ length: 25_000 }, (_, i) => `d00755 0 0      0 /usr/share/doc/file-${i}`);
    const t0 = performance.now();
    for (const l of lines) out.line(l);
    out.flush();
    const ms = performance.now() - t0;
    expect(sink.text()).toBe(`${lines.join("\n")}\n`);
    expect(sink.calls).toBeLessThan(40);
    expect(ms).toBeLessThan(500);
  });

  it("writes nothing until flushed or full", () => {
    const sink = captureSink();
    const out = new Output(sink, { highWater: 10 });
    out.write("abc");
    expect(sink.calls).toBe(0);
    out.write("defghijkl");
    expect(sink.text()).toBe("abcdefghijkl");
    out.lines(["x", "y"]);
    out.flush();
    expect(sink.text()).toBe("abcdefghijklx\ny\n");
  });

  it("keeps text and bytes in order", () => {
    const sink = captureSink();
    const out = new Output(sink);
    out.write("head ");
    out.bytes(new TextEncoder().encode("body"));
    out.line(" tail");
    out.flush();
    expect(sink.text()).toBe("head body tail\n");
  });

  it("flushes the output it follows before writing (stderr after stdout)", () => {
    const order: string[] = [];
    const out = new Output({ write: (c) => void order.push(`out ${c}`) });
    const err = new Output({ write: (c) => void order.push(`err ${c}`) }, { unbuffered: true, after: out });
    out.line("1");
    err.line("2");
    out.line("3");
    out.flush();
    expect(order).toEqual(["out 1\n", "err 2\n", "out 3\n"]);
  });

  it("marks itself broken on EPIPE, rethrows once, then drops output", () => {
    let calls = 0;
    const out = new Output({
      write() {
        calls++;
        throw Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
      },
    });
    out.line("x");
    expect(() => out.flush()).toThrow(/EPIPE/);
    expect(out.broken).toBe(true);
    out.line("y");
    out.flush();
    expect(calls).toBe(1);
  });
});

describe("fdSink()", () => {
  it("writes strings and bytes to a file descriptor", () => {
    const tmp = makeTmpDir();
    try {
      const path = join(tmp.dir, "out");
      const fd = fs.openSync(path, "w");
      const sink = fdSink(fd);
      sink.write("héllo ");
      sink.write(new Uint8Array([0x77, 0x0a]));
      fs.closeSync(fd);
      expect(fs.readFileSync(path, "utf8")).toBe("héllo w\n");
    } finally {
      tmp.cleanup();
    }
  });

  it("raises EPIPE when the reader has gone (caught by the CLI)", () => {
    // A child writes 1 MB to a pipe whose reader exits at once; it must see EPIPE, not die.
    const script = `
      import { fdSink } from ${JSON.stringify(new URL("../../../src/cli/output.ts", import.meta.url).pathname)};
      try { for (let i = 0; i < 64; i++) fdSink(1).write("x".repeat(16384)); process.stderr.write("no error"); }
      catch (e) { process.stderr.write(String(e.code)); }`;
    const r = spawnSync(
      "bash",
      ["-c", `node --import tsx -e '${script.replace(/'/g, "'\\''")}' | head -c 1 >/dev/null`],
      {
        encoding: "utf8",
        cwd: new URL("../../..", import.meta.url).pathname,
      },
    );
    expect(r.stderr.trim()).toBe("EPIPE");
  });
});

describe("formatJson()", () => {
  it("puts apiVersion and kind first, on one line", () => {
    expect(formatJson("Refs", { refs: ["a", "b"] })).toBe(
      `{"apiVersion":"${API_VERSION}","kind":"Refs","refs":["a","b"]}\n`,
    );
  });

  it("does not let data override apiVersion or kind", () => {
    expect(JSON.parse(formatJson("Log", { kind: "X", apiVersion: "v0", n: 1 }))).toEqual({
      apiVersion: "arbor/v1",
      kind: "Log",
      n: 1,
    });
  });

  it("encodes bigints, bytes, maps and sets", () => {
    const doc = JSON.parse(
      formatJson("T", {
        small: 1700000000n,
        big: 2n ** 64n - 1n,
        bytes: new Uint8Array([0xde, 0xad]),
        map: new Map([["k", 1]]),
        set: new Set(["s"]),
      }),
    );
    expect(doc).toMatchObject({
      small: 1700000000,
      big: "18446744073709551615",
      bytes: "dead",
      map: { k: 1 },
      set: ["s"],
    });
  });
});
