import { describe, expect, it } from "vitest";
import { formatSize } from "../../../src/core/format-size.js";

describe("formatSize (GLib's g_format_size, as ostree prints sizes)", () => {
  it("counts bytes below 1000, then decimal units with one decimal and a no-break space", () => {
    expect(formatSize(0)).toBe("0 bytes");
    expect(formatSize(1)).toBe("1 byte");
    expect(formatSize(999)).toBe("999 bytes");
    expect(formatSize(1000)).toBe("1.0\u00a0kB");
    expect(formatSize(1500)).toBe("1.5\u00a0kB");
    expect(formatSize(2_100_000)).toBe("2.1\u00a0MB");
    expect(formatSize(3e9)).toBe("3.0\u00a0GB");
  });
});
