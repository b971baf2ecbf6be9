/**
 * Parsing `--timestamp` and `--keep-younger-than` values as ostree (parse_datetime) accepts the
 * common forms: `@EPOCH`, `YYYY-MM-DD[ T]HH:MM[:SS][ ]±HHMM|Z`, `YYYY-MM-DD`, and relative
 * `N seconds|minutes|hours|days|weeks ago`.
 */
import { ArborError } from "../errors.js";

/** Seconds since the epoch. @throws ArborError USAGE naming the value. */
export function parseTime(s: string, now = Date.now()): number {
  const t = s.trim();
  let m = /^@(-?\d+)$/.exec(t);
  if (m) return Number(m[1]);
  m = /^(\d+)\s*(second|minute|hour|day|week)s?\s+ago$/i.exec(t);
  if (m) {
    const mult: Record<string, number> = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 };
    return Math.floor(now / 1000) - Number(m[1]) * mult[m[2]!.toLowerCase()]!;
  }
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/i.exec(t);
  if (m) {
    const [, y, mo, d, h = "0", mi = "0", se = "0", tz] = m;
    let secs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se)) / 1000;
    if (tz && !/^(Z|UTC)$/i.test(tz)) {
      const sign = tz[0] === "-" ? -1 : 1;
      const digits = tz.slice(1).replace(":", "");
      secs -= sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
    } else if (!tz && m[4] === undefined) {
      // date only: midnight UTC
    }
    if (Number.isFinite(secs)) return secs;
  }
  throw new ArborError("USAGE", `Could not parse '${s}'`);
}
