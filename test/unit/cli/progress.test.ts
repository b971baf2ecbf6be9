import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Progress } from "../../../src/cli/progress.js";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function tty(columns = 80) {
  const writes: string[] = [];
  const p = new Progress({ tty: true, columns, write: (s) => void writes.push(s), now: () => Date.now() });
  return { p, writes };
}

describe("Progress on a TTY", () => {
  it("draws the first update at once, in place", () => {
    const { p, writes } = tty();
    p.update("Receiving objects: 1%");
    expect(writes).toEqual(["\rReceiving objects: 1%\x1b[K"]);
  });

  it("redraws at most every 100 ms, and draws the latest text after a burst", () => {
    const { p, writes } = tty();
    p.update("1");
    for (let i = 2; i <= 50; i++) p.update(String(i));
    expect(writes).toHaveLength(1);
    vi.advanceTimersByTime(100);
    expect(writes).toEqual(["\r1\x1b[K", "\r50\x1b[K"]);
    vi.advanceTimersByTime(30);
    p.update("51");
    expect(writes).toHaveLength(2);
    vi.advanceTimersByTime(70);
    expect(writes.at(-1)).toBe("\r51\x1b[K");
  });

  it("cuts lines to the terminal width", () => {
    const { p, writes } = tty(10);
    p.update("abcdefghijklmnop");
    expect(writes).toEqual(["\rabcdefghi\x1b[K"]);
  });

  it("clears the line and prints the summary when done, then ignores updates", () => {
    const { p, writes } = tty();
    p.update("50%");
    p.update("60%");
    p.done("3 objects fetched");
    vi.advanceTimersByTime(1000);
    p.update("70%");
    expect(writes).toEqual(["\r50%\x1b[K", "\r\x1b[K", "3 objects fetched\n"]);
  });

  it("clear() erases the line so other output can be printed", () => {
    const { p, writes } = tty();
    p.clear();
    expect(writes).toEqual([]);
    p.update("x");
    p.clear();
    expect(writes).toEqual(["\rx\x1b[K", "\r\x1b[K"]);
  });
});

describe("Progress off a TTY", () => {
  it("prints nothing but the final summary", () => {
    const writes: string[] = [];
    const p = new Progress({ tty: false, write: (s) => void writes.push(s) });
    p.update("1%");
    vi.advanceTimersByTime(1000);
    p.update("2%");
    expect(writes).toEqual([]);
    p.done("done in 1s");
    expect(writes).toEqual(["done in 1s\n"]);
  });

  it("prints nothing at all without a summary", () => {
    const writes: string[] = [];
    const p = new Progress({ tty: false, write: (s) => void writes.push(s) });
    p.update("1%");
    p.done();
    expect(writes).toEqual([]);
  });
});
