import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSourceDateEpoch, parseTime } from "../../../src/cli/parse-time.js";
import { isArborError } from "../../../src/errors.js";

// Expected values were produced by `TZ=UTC ostree commit --timestamp=VALUE` + `ostree show`.
const NOW = Date.UTC(2026, 10, 26, 1, 8, 36); // 2026-11-26 01:08:36 UTC
const utc = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s) / 1000;

let savedTz: string | undefined;
beforeAll(() => {
  savedTz = process.env.TZ;
  process.env.TZ = "UTC";
});
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe("parseTime() accepts what ostree's --timestamp accepts", () => {
  const cases: Array<[string, number]> = [
    ["@1234567890", 1234567890],
    ["@12.5", 12],
    ["@-5", -5],
    [" @5", 5],
    ["October 25 1985", utc(1985, 10, 25)],
    ["Oct 25, 1985", utc(1985, 10, 25)],
    ["25 Oct 1985", utc(1985, 10, 25)],
    ["25-Oct-1985", utc(1985, 10, 25)],
    ["1985-10-25", utc(1985, 10, 25)],
    ["1985/10/25", utc(1985, 10, 25)],
    ["10/25/1985", utc(1985, 10, 25)],
    ["12/31/99", utc(1999, 12, 31)],
    ["2009-02-13 23:31:30", utc(2009, 2, 13, 23, 31, 30)],
    ["2009-02-13T23:31:30Z", utc(2009, 2, 13, 23, 31, 30)],
    ["2009-02-13 23:31:30 +0100", utc(2009, 2, 13, 22, 31, 30)],
    ["2009-02-13T23:31:30+01:00", utc(2009, 2, 13, 22, 31, 30)],
    ["2009-02-13 11:31:30 pm", utc(2009, 2, 13, 23, 31, 30)],
    ["Fri, 13 Feb 2009 23:31:30 +0000", utc(2009, 2, 13, 23, 31, 30)],
    ["Oct 25 1985 10:00:00 UTC", utc(1985, 10, 25, 10)],
    ["1985-10-25 10:00 UTC+2", utc(1985, 10, 25, 8)],
    ["13:00:00 -0500", utc(2026, 11, 26, 18)],
    ["12:00", utc(2026, 11, 26, 12)],
    ["now", NOW / 1000],
    ["yesterday", NOW / 1000 - 86400],
    ["1 day ago", NOW / 1000 - 86400],
    ["next week", NOW / 1000 + 7 * 86400],
    ["2 hours ago", NOW / 1000 - 7200],
    // bare numbers (gnulib's digits_to_date_time)
    ["0", utc(2026, 11, 26)],
    ["0000", utc(2026, 11, 26)],
    ["5", utc(2026, 11, 26, 5)],
    ["12", utc(2026, 11, 26, 12)],
    ["123", utc(2026, 11, 26, 1, 23)],
    ["1234", utc(2026, 11, 26, 12, 34)],
    ["20240101", utc(2024, 1, 1)],
    ["19991231", utc(1999, 12, 31)],
    ["Jan 5 10:00 2024", utc(2024, 1, 5, 10)],
    ["Jan 5 10:00 24", utc(2024, 1, 5, 10)],
    ["Thu Nov 26 07:06:06 UTC 2026", utc(2026, 11, 26, 7, 6, 6)],
    ["1 day ago 2024", utc(2026, 11, 25, 20, 24)],
  ];
  for (const [input, want] of cases) {
    it(JSON.stringify(input), () => expect(parseTime(input, NOW)).toBe(want));
  }

  for (const bad of [
    "garbage",
    "1985-02-30",
    "1985-13-01",
    "25:00",
    "@",
    "October 25 1985 junk",
    "2400",
    "99",
    "Jan 5 24",
  ]) {
    it(`refuses ${JSON.stringify(bad)} with ostree's wording`, () => {
      let err: unknown;
      try {
        parseTime(bad, NOW);
      } catch (e) {
        err = e;
      }
      expect(isArborError(err, "USAGE")).toBe(true);
      expect((err as Error).message).toBe(`Could not parse '${bad}'`);
    });
  }
});

describe("parseSourceDateEpoch() reads SOURCE_DATE_EPOCH as ostree (strtoll)", () => {
  it("takes a leading signed decimal number and ignores the rest", () => {
    expect(parseSourceDateEpoch("1234567890")).toBe(1234567890);
    expect(parseSourceDateEpoch(" 12")).toBe(12);
    expect(parseSourceDateEpoch("12abc")).toBe(12);
    expect(parseSourceDateEpoch("-5")).toBe(-5);
    expect(parseSourceDateEpoch("0x10")).toBe(0);
  });
  it("refuses text without digits and values out of range, in ostree's words", () => {
    expect(() => parseSourceDateEpoch("invalid")).toThrow(/^Failed to convert SOURCE_DATE_EPOCH$/);
    expect(() => parseSourceDateEpoch("")).toThrow(/^Failed to convert SOURCE_DATE_EPOCH$/);
    expect(() => parseSourceDateEpoch("12345678901234567890")).toThrow(
      "Parsing SOURCE_DATE_EPOCH: Numerical result out of range",
    );
  });
});
