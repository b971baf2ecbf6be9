import { describe, expect, it } from "vitest";
import { ArborError } from "../../../src/errors.js";
import { isTransient, joinUrl, TransientError, withRetries } from "../../../src/pull/fetcher.js";

const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 2 };

describe("fetcher retries", () => {
  it("withRetries() retries transient failures and then succeeds", async () => {
    let n = 0;
    const v = await withRetries(fast, "x", async () => {
      if (++n < 3) throw new TransientError("reset");
      return 42;
    });
    expect(v).toBe(42);
    expect(n).toBe(3);
  });

  it("withRetries() gives up after the configured retries with a clear message", async () => {
    let n = 0;
    await expect(
      withRetries(fast, "Cannot fetch a", async () => {
        n++;
        throw new TransientError("HTTP 503");
      }),
    ).rejects.toThrow("Cannot fetch a: HTTP 503 (after 4 attempts)");
    expect(n).toBe(4);
  });

  it("withRetries() does not retry verification failures", async () => {
    let n = 0;
    await expect(
      withRetries(fast, "x", async () => {
        n++;
        throw new ArborError("OBJECT_CORRUPT", "bad");
      }),
    ).rejects.toThrow("bad");
    expect(n).toBe(1);
  });

  it("withRetries() stops when aborted", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(
      withRetries(
        { retries: 5, baseDelayMs: 1000, maxDelayMs: 1000 },
        "x",
        async () => {
          throw new TransientError("reset");
        },
        ac.signal,
      ),
    ).rejects.toThrow(/cancelled/);
  });

  it("isTransient() knows socket errors, timeouts and wrapped causes", () => {
    expect(isTransient(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(true);
    expect(isTransient(Object.assign(new Error("x"), { code: "UND_ERR_BODY_TIMEOUT" }))).toBe(true);
    expect(isTransient(new Error("x", { cause: Object.assign(new Error("y"), { code: "EPIPE" }) }))).toBe(
      true,
    );
    expect(isTransient(Object.assign(new Error("x"), { code: "ENOENT" }))).toBe(false);
    expect(isTransient(new ArborError("NOT_FOUND", "404"))).toBe(false);
  });

  it("joinUrl() joins with exactly one slash", () => {
    expect(joinUrl("http://h/repo/", "/objects/ab/c.commit")).toBe("http://h/repo/objects/ab/c.commit");
    expect(joinUrl("http://h/repo", "summary")).toBe("http://h/repo/summary");
  });
});
