/**
 * The puller shares one AbortSignal among all its fetches in flight (each request and each
 * retry's wait listens on it): it must raise the signal's listener limit so that a pull with
 * PULL_CONCURRENCY fetches does not print Node's MaxListenersExceededWarning.
 */
import { getMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Fetcher, PULL_CONCURRENCY } from "../../../src/pull/fetcher.js";
import { ObjectPuller } from "../../../src/pull/object-puller.js";
import { newStats } from "../../../src/pull/progress.js";
import { Repo } from "../../../src/repo/repo.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-puller-signal-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("ObjectPuller and its signal", () => {
  it("lets every fetch in flight listen on the signal without a warning", async () => {
    const repo = Repo.create(join(dir, "repo"), { mode: "bare-user" });
    const signal = new AbortController().signal;
    expect(getMaxListeners(signal)).toBe(10); // Node's default: 16 fetches would pass it
    const p = await ObjectPuller.start({ repo, fetcher: {} as Fetcher, stats: newStats(), signal });
    expect(getMaxListeners(signal)).toBeGreaterThanOrEqual(2 * PULL_CONCURRENCY);
    await p.abort();
  });
});
