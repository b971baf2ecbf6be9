/**
 * GVariant text format: tokens (GLib's rules: `'…'`/`"…"` strings, `b'…'` bytestrings, `@TYPE`,
 * numbers made of alphanumerics and `+-.`, keywords) and the unescaping of string literals.
 * Positions are UTF-8 byte offsets, as GLib reports them.
 */

/** A parse error at GLib's location syntax; turned into ArborError USAGE by parseVariantText. */
export class ParseError extends Error {
  constructor(
    /** GLib's location: `START`, `START-END`, or two ranges `A-B,C-D` for a conflict between two literals. */
    readonly position: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export const range = (start: number, end: number): string => (start === end ? `${start}` : `${start}-${end}`);

export function fail(start: number, end: number, reason: string): never {
  throw new ParseError(range(start, end), reason);
}

export type TokKind = "punct" | "number" | "word" | "string" | "bytes" | "type" | "end";

export interface Tok {
  kind: TokKind;
  text: string;
  start: number;
  end: number;
  /** For string and bytestring tokens: whether the closing quote was found. */
  closed?: boolean;
}

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
export const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

export class Lexer {
  pos = 0;
  private peeked: Tok | null = null;
  constructor(readonly src: Uint8Array) {}

  peek(): Tok {
    this.peeked ??= this.scan();
    return this.peeked;
  }

  take(): Tok {
    const t = this.peek();
    this.peeked = null;
    return t;
  }

  /** Consume the punctuation `p` if it is next. */
  eat(p: string): boolean {
    const t = this.peek();
    if (t.kind === "punct" && t.text === p) {
      this.take();
      return true;
    }
    return false;
  }

  private scan(): Tok {
    const s = this.src;
    let p = this.pos;
    while (p < s.length && isSpace(s[p]!)) p++;
    const start = p;
    const tok = (kind: TokKind, end: number): Tok => {
      this.pos = end;
      return { kind, text: latin1(s.subarray(start, end)), start, end };
    };
    if (p >= s.length) return tok("end", p);
    const c = s[p]!;
    if ("[](){}<>,:".includes(String.fromCharCode(c))) return tok("punct", p + 1);
    if (c === 0x27 || c === 0x22 || (c === 0x62 && (s[p + 1] === 0x27 || s[p + 1] === 0x22))) {
      const [end, closed] = quoted(s, c === 0x62 ? p + 1 : p);
      return { ...tok(c === 0x62 ? "bytes" : "string", end), closed };
    }
    if (c === 0x40) {
      // @TYPE: up to a space, comma, colon, > or ], or an unbalanced closing bracket
      let depth = 0;
      let e = p + 1;
      for (; e < s.length; e++) {
        const d = s[e]!;
        if (isSpace(d) || d === 0x2c || d === 0x3a || d === 0x3e || d === 0x5d) break;
        if (d === 0x28 || d === 0x7b) depth++;
        else if ((d === 0x29 || d === 0x7d) && depth-- === 0) break;
      }
      return tok("type", e);
    }
    if ((c >= 48 && c <= 57) || c === 0x2d || c === 0x2b || c === 0x2e) {
      let e = p + 1;
      while (e < s.length && (isAlnum(s[e]!) || s[e] === 0x2d || s[e] === 0x2b || s[e] === 0x2e)) e++;
      return tok("number", e);
    }
    if (isAlnum(c)) {
      let e = p + 1;
      while (e < s.length && isAlnum(s[e]!)) e++;
      return tok("word", e);
    }
    // a lone other character (one whole UTF-8 sequence): never valid where a value is expected
    let e = p + 1;
    while (e < s.length && (s[e]! & 0xc0) === 0x80) e++;
    return tok("punct", e);
  }
}

/** End of the quoted token whose opening quote is at `q` (past the closing quote, or the input end), and whether it closed. */
function quoted(s: Uint8Array, q: number): [number, boolean] {
  const quote = s[q];
  for (let e = q + 1; e < s.length; e++) {
    if (s[e] === quote) return [e + 1, true];
    if (s[e] === 0x5c) e++;
  }
  return [s.length, false];
}

const enc = new TextEncoder();
const SHORT: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function unescapeString(s: Uint8Array, t: Tok): string {
  if (!t.closed) fail(t.start, t.end, "unterminated string constant");
  const out: number[] = [];
  const flush = (cp: number): void => {
    out.push(...enc.encode(String.fromCodePoint(cp)));
  };
  for (let i = t.start + 1; i < t.end - 1; i++) {
    const c = s[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const e = String.fromCharCode(s[++i]!);
    if (e === "u" || e === "U") {
      const n = e === "u" ? 4 : 8;
      let j = i + 1;
      while (j < i + 1 + n && j < t.end - 1 && /[0-9a-fA-F]/.test(String.fromCharCode(s[j]!))) j++;
      const cp = j === i + 1 + n ? Number.parseInt(latin1(s.subarray(i + 1, j)), 16) : -1;
      if (cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        fail(i + 1, j, `invalid ${n}-character unicode escape`);
      }
      flush(cp);
      i = j - 1;
    } else if (e in SHORT) {
      out.push(SHORT[e]!);
    } else {
      out.push(s[i]!);
    }
  }
  try {
    return dec.decode(Uint8Array.from(out));
  } catch {
    return fail(t.start, t.end, "invalid UTF-8 in string constant");
  }
}

export function unescapeBytes(s: Uint8Array, t: Tok): Uint8Array {
  if (!t.closed) fail(t.start, t.end, "unterminated string constant");
  const out: number[] = [];
  for (let i = t.start + 2; i < t.end - 1; i++) {
    const c = s[i]!;
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    const e = String.fromCharCode(s[++i]!);
    if (e >= "0" && e <= "7") {
      let v = 0;
      let k = 0;
      while (k < 3 && s[i + k]! >= 0x30 && s[i + k]! <= 0x37 && i + k < t.end - 1)
        v = v * 8 + s[i + k++]! - 0x30;
      out.push(v & 0xff);
      i += k - 1;
    } else if (e in SHORT) {
      out.push(SHORT[e]!);
    } else {
      out.push(s[i]!);
    }
  }
  // a bytestring ends at its first NUL (GLib builds it as a C string), then gets its terminator
  const nul = out.indexOf(0);
  const body = nul < 0 ? out : out.slice(0, nul);
  return Uint8Array.from([...body, 0]);
}
