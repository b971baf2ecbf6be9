import { describe, expect, it } from "vitest";
import { formatSize } from "../../../src/core/format-size.js";
import { formatPullProgress, formatPullSummary, newStats } from "../../../src/pull/progress.js";

describe("pull progress text", () => {
  it("formats sizes as ostree's pull does (GLib's g_format_size, a no-break space before the unit)", () => {
    expect(formatSize(999)).toBe("999 bytes");
    expect(formatSize(2_100_000)).toBe("2.1\u00a0MB");
  });

  it("formatPullSummary() prints ostree's final line", () => {
    const s = {
      ...newStats(0),
      fetchedMetadata: 6,
      fetchedContent: 1,
      bytesTransferred: 292,
      contentBytesWritten: 3,
      elapsedMs: 400,
    };
    expect(formatPullSummary(s)).toBe(
      "6 metadata, 1 content objects fetched; 292 B transferred in 0 seconds; 3 bytes content written",
    );
    const big = { ...s, bytesTransferred: 5000, importedContent: 2, elapsedMs: 2500 };
    expect(formatPullSummary(big)).toBe(
      "6 metadata, 1 content objects fetched (0 meta, 2 content local); 4 KiB transferred in 2 seconds; 3 bytes content written",
    );
    expect(formatPullSummary({ ...s, bytesTransferred: 0 })).toBe(
      "6 metadata, 1 content objects fetched; 3 bytes content written",
    );
  });

  it("formatPullProgress() shows scanning, then percentage and rate", () => {
    const s = { ...newStats(0), fetchedMetadata: 3, bytesTransferred: 2000, elapsedMs: 1000 };
    expect(formatPullProgress(s)).toBe(
      "Receiving metadata objects: 3/(estimating) 2.0\u00a0kB/s 2.0\u00a0kB",
    );
    expect(formatPullProgress({ ...s, scanning: false, requested: 6 })).toBe(
      "Receiving objects: 50% (3/6) 2.0\u00a0kB/s 2.0\u00a0kB",
    );
  });
});
