/**
 * Parsing `--timestamp` and `--keep-younger-than` values the way ostree does (it calls gnulib's
 * `parse_datetime`, the grammar of GNU `date -d`), and `SOURCE_DATE_EPOCH` as ostree reads it.
 *
 * Accepted (items separated by spaces or commas, case-insensitive):
 *  - `@SECONDS[.FRACTION]` alone (may be negative);
 *  - dates: `YYYY-MM-DD`, `YYYY/MM/DD`, `MM/DD[/YY[YY]]`, `Month DD[ YYYY]`, `DD Month[ YYYY]`,
 *    `DD-Mon-YYYY`; ISO `YYYY-MM-DDTHH:MM[:SS]`;
 *  - times: `HH:MM[:SS[.frac]]` with optional `am`/`pm`, then an optional zone;
 *  - zones: `Z`, `UTC`, `GMT`, `UT` (optionally `±H[H][[:]MM]` after them), or `±HHMM`, `±HH:MM`
 *    right after a time;
 *  - relative items: `now`, `today`, `yesterday`, `tomorrow`, `[±N|last|this|next] UNIT[s] [ago]`
 *    with UNIT one of year, month, fortnight, week, day, hour, minute/min, second/sec;
 *  - weekday names next to a date (ignored, as they only restate it);
 *  - bare numbers: the year of a date that lacks one, else `YYYYMMDD` (more than four digits) or a
 *    time of day `H`, `HH`, `HMM`, `HHMM` (`--timestamp=0` is midnight today, as in ostree).
 * A date without a time means midnight; a time without a date means today; neither means now.
 * Without a zone the local time zone applies (`TZ`), as in ostree.
 */
import { ArborError } from "../errors.js";

const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const MONTH_RE =
  "(january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\\.?";
const WEEKDAY_RE =
  /^(monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wednes|wed|thurs|thur|thu|fri|sat|sun)\b\.?/;
const UNIT_SECONDS: Record<string, number> = {
  fortnight: 1209600,
  week: 604800,
  hour: 3600,
  minute: 60,
  min: 60,
  second: 1,
  sec: 1,
};

interface Parsed {
  date?: { y: number; m: number; d: number };
  time?: { h: number; mi: number; s: number };
  /** Zone offset east of UTC, in seconds. */
  zone?: number;
  rel: { years: number; months: number; days: number; seconds: number };
  /** A relative item (`now`, `yesterday`, `3 days ago`…) was read. */
  relSeen?: boolean;
}

function monthIndex(name: string): number {
  return MONTHS.indexOf(name.slice(0, 3).toLowerCase()) + 1;
}

function fullYear(y: string): number {
  const n = Number(y);
  if (y.length > 2) return n;
  return n < 69 ? 2000 + n : 1900 + n; // POSIX / GNU rule for two-digit years
}

/** A zone offset `±H`, `±HH`, `±HHMM`, `±HH:MM` in seconds east of UTC, or undefined. */
function offsetOf(sign: string, digits: string): number | undefined {
  const d = digits.replace(":", "");
  let h: number;
  let m = 0;
  if (d.length <= 2) h = Number(d);
  else if (d.length === 4) {
    h = Number(d.slice(0, 2));
    m = Number(d.slice(2));
  } else return undefined;
  if (h > 24 || m > 59) return undefined;
  return (sign === "-" ? -1 : 1) * (h * 3600 + m * 60);
}

/**
 * One kind of item: `re` matches at the start of the text; `take` records the match in `p` and
 * returns the length consumed, or -1 when the match is not a valid item (a parse error).
 */
interface Rule {
  re: RegExp;
  take(m: RegExpExecArray, p: Parsed, s: string): number;
}

function setDate(p: Parsed, y: number, mo: number, d: number): boolean {
  if (p.date || mo < 1 || mo > 12 || d < 1 || d > 31) return false;
  p.date = { y, m: mo, d };
  return true;
}

const REL_WORDS: Record<string, number> = { last: -1, this: 0, next: 1 };

const RULES: Rule[] = [
  // ISO date, optionally followed by T and a time
  {
    re: /^(\d{4})-(\d{1,2})-(\d{1,2})(?=$|[\s,t])/,
    take: (m, p, s) => {
      if (!setDate(p, Number(m[1]), Number(m[2]), Number(m[3]))) return -1;
      return /^t\d/.test(s.slice(m[0].length)) ? m[0].length + 1 : m[0].length;
    },
  },
  {
    re: /^(\d{4})\/(\d{1,2})\/(\d{1,2})\b/,
    take: (m, p) => (setDate(p, Number(m[1]), Number(m[2]), Number(m[3])) ? m[0].length : -1),
  },
  {
    re: /^(\d{1,2})\/(\d{1,2})(?:\/(\d{2}|\d{4}))?\b/,
    take: (m, p) => {
      const y = m[3] !== undefined ? fullYear(m[3]) : Number.NaN;
      return setDate(p, y, Number(m[1]), Number(m[2])) ? m[0].length : -1;
    },
  },
  // a time of day, with am/pm, and a numeric zone allowed right after it
  {
    re: /^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?(?:\s*([ap])\.?m\b\.?)?(?:\s*([+-])(\d{2}:\d{2}|\d{1,4})\b)?/,
    take: (m, p) => {
      if (p.time) return -1;
      let h = Number(m[1]);
      const mi = Number(m[2]);
      const sec = m[3] !== undefined ? Number(m[3]) : 0;
      if (m[4]) {
        if (h < 1 || h > 12) return -1;
        h = (h % 12) + (m[4] === "p" ? 12 : 0);
      }
      if (h > 23 || mi > 59 || sec > 60) return -1;
      p.time = { h, mi, s: sec };
      if (m[5]) {
        if (p.zone !== undefined) return -1;
        p.zone = offsetOf(m[5], m[6]!);
        if (p.zone === undefined) return -1;
      }
      return m[0].length;
    },
  },
  // Month DD[,] [YYYY]
  {
    re: new RegExp(`^${MONTH_RE}(?:\\s*(\\d{1,2})(?!\\d|:)(?:\\s*,?\\s*(\\d{4})(?!\\d|:))?)?\\b`),
    take: (m, p) => {
      const y = m[3] !== undefined ? Number(m[3]) : Number.NaN;
      const d = m[2] !== undefined ? Number(m[2]) : 1;
      return setDate(p, y, monthIndex(m[1]!), d) ? m[0].length : -1;
    },
  },
  // DD[-]Month[-][YYYY]
  {
    re: new RegExp(`^(\\d{1,2})[\\s-]*${MONTH_RE}(?:[\\s-]*(\\d{4})(?!\\d|:))?\\b`),
    take: (m, p) => {
      const y = m[3] !== undefined ? Number(m[3]) : Number.NaN;
      return setDate(p, y, monthIndex(m[2]!), Number(m[1])) ? m[0].length : -1;
    },
  },
  // named zones
  {
    re: /^(utc|gmt|ut|z)(?:([+-])(\d{2}:\d{2}|\d{1,4}))?\b/,
    take: (m, p) => {
      if (p.zone !== undefined) return -1;
      p.zone = m[2] ? offsetOf(m[2], m[3]!) : 0;
      return p.zone === undefined ? -1 : m[0].length;
    },
  },
  {
    re: /^(now|today)\b/,
    take: (m, p) => {
      p.relSeen = true;
      return m[0].length;
    },
  },
  {
    re: /^(yesterday|tomorrow)\b/,
    take: (m, p) => {
      p.relSeen = true;
      p.rel.days += m[1] === "yesterday" ? -1 : 1;
      return m[0].length;
    },
  },
  {
    re: /^(?:([+-]?\s*\d+)|(last|this|next)\b)?\s*(year|month|fortnight|week|day|hour|minute|min|second|sec)s?\b(\s+ago\b)?/,
    take: (m, p) => {
      let n =
        m[1] !== undefined ? Number(m[1].replace(/\s+/g, "")) : m[2] !== undefined ? REL_WORDS[m[2]]! : 1;
      if (m[4]) n = -n;
      p.relSeen = true;
      const unit = m[3]!;
      if (unit === "year") p.rel.years += n;
      else if (unit === "month") p.rel.months += n;
      else if (unit === "day") p.rel.days += n;
      else p.rel.seconds += n * UNIT_SECONDS[unit]!;
      return m[0].length;
    },
  },
  // weekday names only restate a date
  { re: WEEKDAY_RE, take: (m) => m[0].length },
  // a bare number, as gnulib reads one: the year of a date that lacks one (after a time, or with
  // more than two digits, and no relative item yet); else more than four digits are YYYYMMDD and
  // up to four a time of day: H or HH (whole hours), HMM or HHMM (`0` is midnight today)
  {
    re: /^(\d+)\b(?!:)/,
    take: (m, p) => {
      const digits = m[1]!;
      const n = Number(digits);
      if (p.date && Number.isNaN(p.date.y) && !p.relSeen && (p.time || digits.length > 2)) {
        p.date.y = digits.length === 2 ? fullYear(digits) : n;
        return m[0].length;
      }
      if (digits.length > 4) {
        const y = Math.floor(n / 10000);
        return setDate(p, y, Math.floor(n / 100) % 100, n % 100) ? m[0].length : -1;
      }
      if (p.time) return -1;
      const h = digits.length <= 2 ? n : Math.floor(n / 100);
      const mi = digits.length <= 2 ? 0 : n % 100;
      if (h > 23 || mi > 59) return -1;
      p.time = { h, mi, s: 0 };
      return m[0].length;
    },
  },
];

/** Consume one item at the start of `s` into `p`; returns the rest, or null if none is valid. */
function item(s: string, p: Parsed): string | null {
  for (const rule of RULES) {
    const m = rule.re.exec(s);
    if (!m) continue;
    const n = rule.take(m, p, s);
    return n < 0 ? null : s.slice(n);
  }
  return null;
}

/**
 * Seconds since the epoch for a date/time string, as ostree's `--timestamp` accepts it.
 * `now` (milliseconds) is the reference for relative items and missing fields.
 * @throws ArborError USAGE `Could not parse 'VALUE'` (ostree's wording).
 */
export function parseTime(s: string, now = Date.now()): number {
  const fail = () => new ArborError("USAGE", `Could not parse '${s}'`);
  const t = s.trim().toLowerCase();
  const epoch = /^@\s*([+-]?\d+)(?:[.,]\d*)?$/.exec(t);
  if (epoch) {
    const n = Number(epoch[1]);
    if (!Number.isSafeInteger(n)) throw fail();
    return n;
  }
  const p: Parsed = { rel: { years: 0, months: 0, days: 0, seconds: 0 } };
  let rest = t.replace(/^[\s,]+/, "");
  while (rest.length) {
    const next = item(rest, p);
    if (next === null) throw fail();
    rest = next.replace(/^[\s,]+/, "");
  }
  if (t.length === 0) return Math.floor(now / 1000); // GNU: the empty string means now
  const utc = p.zone !== undefined;
  const base = new Date(now);
  const get = (f: "FullYear" | "Month" | "Date") => (utc ? base[`getUTC${f}`]() : base[`get${f}`]());
  let y: number;
  let mo: number;
  let d: number;
  if (p.date) {
    y = Number.isNaN(p.date.y) ? get("FullYear") : p.date.y;
    mo = p.date.m - 1;
    d = p.date.d;
  } else {
    y = get("FullYear");
    mo = get("Month");
    d = get("Date");
  }
  let h = 0;
  let mi = 0;
  let sec = 0;
  let ms = 0;
  if (p.time) ({ h, mi, s: sec } = p.time);
  else if (!p.date) {
    // neither a date nor a time: keep the current time of day
    h = utc ? base.getUTCHours() : base.getHours();
    mi = utc ? base.getUTCMinutes() : base.getMinutes();
    sec = utc ? base.getUTCSeconds() : base.getSeconds();
    ms = base.getMilliseconds();
  }
  // a date that does not exist (February 30) is an error, not a roll-over
  const check = new Date(Date.UTC(y, mo, d));
  if (check.getUTCMonth() !== mo || check.getUTCDate() !== d) throw fail();
  const { years, months, days, seconds } = p.rel;
  let ms2: number;
  if (utc) ms2 = Date.UTC(y + years, mo + months, d + days, h, mi, sec, ms) - p.zone! * 1000;
  else ms2 = new Date(y + years, mo + months, d + days, h, mi, sec, ms).getTime();
  const out = Math.floor(ms2 / 1000) + seconds;
  if (!Number.isSafeInteger(out)) throw fail();
  return out;
}

/**
 * `SOURCE_DATE_EPOCH` as ostree reads it (C `strtoll`, base 10: leading blanks and a sign allowed,
 * trailing text ignored).
 * @throws ArborError USAGE `Failed to convert SOURCE_DATE_EPOCH` when there are no digits;
 *   `Parsing SOURCE_DATE_EPOCH: Numerical result out of range` outside the signed 64-bit range.
 */
export function parseSourceDateEpoch(value: string): number {
  const m = /^[\s]*([+-]?)(\d+)/.exec(value);
  if (!m) throw new ArborError("USAGE", "Failed to convert SOURCE_DATE_EPOCH");
  const n = BigInt(`${m[1]}${m[2]}`);
  if (n > 0x7fffffffffffffffn || n < -0x8000000000000000n || !Number.isSafeInteger(Number(n)))
    throw new ArborError("USAGE", "Parsing SOURCE_DATE_EPOCH: Numerical result out of range");
  return Number(n);
}
