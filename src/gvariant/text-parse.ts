/**
 * GVariant text format, parsing side: what `ostree commit --add-metadata=KEY=VALUE` and
 * `ostree summary -m KEY=VALUE` accept (GLib's g_variant_parse without format strings).
 *
 * Two passes, as in GLib: the text is parsed into a tree of literals, then a type is chosen.
 * Without an expected type, each literal contributes a *pattern* — a type string that may
 * contain `*` (anything), `N` (some number), `S` (some string: s/o/g) and `M` (zero or more
 * maybes may wrap what follows) — array elements' patterns are merged, and the result defaults
 * to int32 for `N`, string for `S` and no maybe for `M`. An integer literal is therefore `i`,
 * a float literal (`.`, `e`, `inf`, `nan`) `d`, `[]` and `nothing` alone are ambiguous
 * ("unable to infer type"); dictionaries take their value pattern from their first value.
 * Any literal except `nothing`/`just`/`@T` fills a maybe type by becoming Just.
 *
 * Errors carry GLib's `START-END:message` location (UTF-8 byte offsets), as ostree prints them.
 */
import { ArborError } from "../errors.js";
import { type GVValue, Just, Variant } from "./serialize.js";
import { type GVType, isObjectPath, isSignature, isValidType, parseType } from "./type.js";

class ParseError extends Error {
  constructor(
    /** GLib's location: `START`, `START-END`, or two ranges `A-B,C-D` for a conflict between two literals. */
    readonly position: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

const range = (start: number, end: number): string => (start === end ? `${start}` : `${start}-${end}`);

function fail(start: number, end: number, reason: string): never {
  throw new ParseError(range(start, end), reason);
}

// ---------------------------------------------------------------------------------------------
// Tokens

type TokKind = "punct" | "number" | "word" | "string" | "bytes" | "type" | "end";

interface Tok {
  kind: TokKind;
  text: string;
  start: number;
  end: number;
  /** For string and bytestring tokens: whether the closing quote was found. */
  closed?: boolean;
}

const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13);
const isAlnum = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const latin1 = (b: Uint8Array): string => String.fromCharCode(...b);

class Lexer {
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

// ---------------------------------------------------------------------------------------------
// Patterns

/** Length of the complete sub-pattern starting at `i`. */
function subpatternEnd(p: string, i: number): number {
  const c = p[i];
  if (c === "a" || c === "m" || c === "M") return subpatternEnd(p, i + 1);
  if (c === "(" || c === "{") {
    let j = i + 1;
    while (j < p.length && p[j] !== ")" && p[j] !== "}") j = subpatternEnd(p, j);
    return j + 1;
  }
  return i + 1;
}

/** The most general pattern matching both `a` and `b`, or null if there is none. */
export function coalescePatterns(a: string, b: string): string | null {
  let i = 0;
  let j = 0;
  let out = "";
  // one step where x[xi] differs from y[yi]; returns the advances, or null if x cannot absorb y
  const step = (x: string, xi: number, y: string, yi: number): [number, number] | null => {
    const cx = x[xi]!;
    const cy = y[yi]!;
    if (cx === "*" && cy !== ")" && cy !== "}") {
      const e = subpatternEnd(y, yi);
      out += y.slice(yi, e);
      return [1, e - yi];
    }
    if (cx === "M" && cy === "m") {
      out += "m";
      return [0, 1];
    }
    if (cx === "M" && cy !== "*") return [1, 0];
    if ((cx === "N" && "ynqiuxthd".includes(cy)) || (cx === "S" && "sog".includes(cy))) {
      out += cy;
      return [1, 1];
    }
    return null;
  };
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out += a[i];
      i++;
      j++;
      continue;
    }
    const ab = step(a, i, b, j);
    if (ab) {
      i += ab[0];
      j += ab[1];
      continue;
    }
    const ba = step(b, j, a, i);
    if (!ba) return null;
    j += ba[0];
    i += ba[1];
  }
  return i === a.length && j === b.length ? out : null;
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

abstract class Node {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
  /** The pattern of types this literal can take. */
  abstract pattern(): string;
  /** The value for definite type `t`. */
  abstract build(t: GVType): GVValue;

  mismatch(t: GVType): never {
    return fail(this.start, this.end, `can not parse as value of type '${t.str}'`);
  }
}

/** A literal that becomes Just when a maybe type is wanted (pattern prefix `M`). */
abstract class Wrappable extends Node {
  abstract buildBase(t: GVType): GVValue;
  build(t: GVType): GVValue {
    if (t.kind !== "maybe") return this.buildBase(t);
    return justOf(t, this.build(t.elem));
  }
}

/** Just `v` for maybe type `t`, in arbor's canonical representation. */
function justOf(t: GVType & { kind: "maybe" }, v: GVValue): GVValue {
  return t.elem.kind === "maybe" && (v === null || v instanceof Just) ? new Just(v) : v;
}

const enc = new TextEncoder();

class StringLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly value: string,
  ) {
    super(start, end);
  }
  pattern(): string {
    return "MS";
  }
  buildBase(t: GVType): GVValue {
    if (t.kind !== "basic" || !"sog".includes(t.code)) this.mismatch(t);
    if (t.code === "o" && !isObjectPath(this.value)) fail(this.start, this.end, "not a valid object path");
    if (t.code === "g" && !isSignature(this.value)) fail(this.start, this.end, "not a valid signature");
    return this.value;
  }
}

class BytesLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly value: Uint8Array,
  ) {
    super(start, end);
  }
  pattern(): string {
    return "May";
  }
  buildBase(t: GVType): GVValue {
    if (t.str !== "ay") this.mismatch(t);
    return this.value;
  }
}

class BoolLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly value: boolean,
  ) {
    super(start, end);
  }
  pattern(): string {
    return "Mb";
  }
  buildBase(t: GVType): GVValue {
    if (t.str !== "b") this.mismatch(t);
    return this.value;
  }
}

const INT_RANGE: Record<string, [bigint, bigint]> = {
  y: [0n, 0xffn],
  n: [-0x8000n, 0x7fffn],
  q: [0n, 0xffffn],
  i: [-0x80000000n, 0x7fffffffn],
  h: [-0x80000000n, 0x7fffffffn],
  u: [0n, 0xffffffffn],
  x: [-(2n ** 63n), 2n ** 63n - 1n],
  t: [0n, 2n ** 64n - 1n],
};

class NumberLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly token: string,
  ) {
    super(start, end);
  }
  isFloat(): boolean {
    const t = this.token;
    return (
      t.includes(".") || (!t.startsWith("0x") && t.includes("e")) || t.includes("inf") || t.includes("nan")
    );
  }
  pattern(): string {
    return this.isFloat() ? "Md" : "MN";
  }
  buildBase(t: GVType): GVValue {
    if (t.kind !== "basic") this.mismatch(t);
    if (t.code === "d") return this.double();
    const range = INT_RANGE[t.code];
    if (!range) this.mismatch(t);
    const neg = this.token.startsWith("-");
    const body = neg ? this.token.slice(1) : this.token;
    const m = /^\+?(?:0[xX]([0-9a-fA-F]+)|(0[0-7]*)|([1-9][0-9]*))/.exec(body);
    const used = m ? m[0].length : 0;
    if (!m || used !== body.length) {
      const bad = this.start + (neg ? 1 : 0) + used;
      fail(bad, bad + 1, "invalid character in number");
    }
    const abs =
      m[1] !== undefined ? BigInt(`0x${m[1]}`) : m[2] !== undefined ? BigInt(`0o${m[2]}`) : BigInt(m[3]!);
    if (abs > 2n ** 64n - 1n) fail(this.start, this.end, "integer too big for any type");
    const v = neg ? -abs : abs;
    if (v < range[0] || v > range[1]) fail(this.start, this.end, `number out of range for type '${t.code}'`);
    return t.code === "x" || t.code === "t" ? v : Number(v);
  }
  private double(): number {
    const d = this.parseDouble();
    // strtod reports ERANGE for overflow and for subnormal results; GLib rejects both
    if (
      (Number.isFinite(d) && Math.abs(d) > 0 && Math.abs(d) < 2 ** -1022) ||
      (!Number.isFinite(d) && !this.token.includes("inf") && !Number.isNaN(d))
    ) {
      fail(this.start, this.end, "number too big for any type");
    }
    return d;
  }

  private parseDouble(): number {
    const s = this.token.toLowerCase();
    const m =
      /^([+-]?)(?:(inf(?:inity)?)|(nan)|0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?|(\d*\.?\d*(?:e[+-]?\d+)?))$/.exec(
        s,
      );
    const sign = m?.[1] === "-" ? -1 : 1;
    if (m?.[2]) return sign * Number.POSITIVE_INFINITY;
    if (m?.[3]) return Number.NaN;
    if (m && (m[4] || m[5])) {
      const frac = m[5] ?? "";
      const mant = Number.parseInt(`${m[4] ?? ""}${frac}` || "0", 16);
      return sign * mant * 2 ** (Number(m[6] ?? 0) - 4 * frac.length);
    }
    if (m?.[7] && /\d/.test(m[7]) && !/^\.?e/.test(m[7])) return sign * Number(m[7]);
    return fail(this.start, this.end, "invalid floating point number");
  }
}

class ArrayLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly items: Node[],
  ) {
    super(start, end);
  }
  pattern(): string {
    return this.items.length === 0 ? "Ma*" : `Ma${commonPattern(this.items)}`;
  }
  buildBase(t: GVType): GVValue {
    if (t.kind !== "array") this.mismatch(t);
    const vals = this.items.map((n) => n.build(t.elem));
    return t.elem.kind === "basic" && t.elem.code === "y" ? Uint8Array.from(vals as number[]) : vals;
  }
}

/** The merged pattern of array elements; reports the first pair that cannot be merged. */
function commonPattern(items: Node[]): string {
  let p = items[0]!.pattern();
  for (let i = 1; i < items.length; i++) {
    const next = coalescePatterns(p, items[i]!.pattern());
    if (next === null) {
      const j = items.findIndex(
        (n, k) => k < i && coalescePatterns(items[i]!.pattern(), n.pattern()) === null,
      );
      const a = items[j < 0 ? i : j]!;
      const b = items[i]!;
      throw new ParseError(
        `${range(a.start, a.end)},${range(b.start, b.end)}`,
        "unable to find a common type",
      );
    }
    p = next;
  }
  return p;
}

class DictLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly keys: Node[],
    readonly values: Node[],
    /** `{k, v}`: a single dict entry rather than a dictionary. */
    readonly entry: boolean,
  ) {
    super(start, end);
  }
  pattern(): string {
    if (this.keys.length === 0) return "Ma{**}";
    const kp = commonPattern(this.keys);
    const key = kp[0] === "M" ? kp[1]! : kp[0]!;
    if (!"bynqiuxthdsogNS".includes(key)) fail(this.start, this.end, "dictionary keys must have basic types");
    // as GLib: the value pattern is taken from the first value only
    return `M${this.entry ? "" : "a"}{${key}${this.values[0]!.pattern()}}`;
  }
  buildBase(t: GVType): GVValue {
    if (this.entry) {
      if (t.kind !== "dict") this.mismatch(t);
      return [this.keys[0]!.build(t.key), this.values[0]!.build(t.value)];
    }
    if (t.kind !== "array" || t.elem.kind !== "dict") this.mismatch(t);
    const e = t.elem;
    return this.keys.map((k, i) => [k.build(e.key), this.values[i]!.build(e.value)]);
  }
}

class TupleLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly items: Node[],
  ) {
    super(start, end);
  }
  pattern(): string {
    return `M(${this.items.map((n) => n.pattern()).join("")})`;
  }
  buildBase(t: GVType): GVValue {
    if (t.kind !== "tuple" || t.members.length !== this.items.length) this.mismatch(t);
    return this.items.map((n, i) => n.build(t.members[i]!));
  }
}

class VariantLit extends Wrappable {
  constructor(
    start: number,
    end: number,
    readonly child: Node,
  ) {
    super(start, end);
  }
  pattern(): string {
    return "Mv";
  }
  buildBase(t: GVType): GVValue {
    if (t.kind !== "variant") this.mismatch(t);
    return resolve(this.child);
  }
}

class NothingLit extends Node {
  pattern(): string {
    return "m*";
  }
  build(t: GVType): GVValue {
    if (t.kind !== "maybe") this.mismatch(t);
    return null;
  }
}

class JustLit extends Node {
  constructor(
    start: number,
    end: number,
    readonly child: Node,
  ) {
    super(start, end);
  }
  pattern(): string {
    return `m${this.child.pattern()}`;
  }
  build(t: GVType): GVValue {
    if (t.kind !== "maybe") this.mismatch(t);
    return justOf(t, this.child.build(t.elem));
  }
}

class TypedLit extends Node {
  constructor(
    start: number,
    end: number,
    readonly type: GVType,
    readonly child: Node,
  ) {
    super(start, end);
  }
  pattern(): string {
    return this.type.str;
  }
  build(t: GVType): GVValue {
    if (t.str !== this.type.str) this.mismatch(t);
    return this.child.build(t);
  }
}

/** Choose a type for a literal by its pattern's defaults and build the value. */
function resolve(n: Node): Variant {
  let type = "";
  for (const c of n.pattern()) {
    if (c === "*") fail(n.start, n.end, "unable to infer type");
    if (c !== "M") type += c === "N" ? "i" : c === "S" ? "s" : c;
  }
  return new Variant(type, n.build(parseType(type)));
}

// ---------------------------------------------------------------------------------------------
// Parser

const KEYWORD_TYPES: Record<string, string> = {
  boolean: "b",
  byte: "y",
  int16: "n",
  uint16: "q",
  int32: "i",
  uint32: "u",
  handle: "h",
  int64: "x",
  uint64: "t",
  double: "d",
  string: "s",
  objectpath: "o",
  signature: "g",
};

const MAX_DEPTH = 128;

class Parser {
  depth = 0;
  constructor(readonly lex: Lexer) {}

  require(p: string, what: string): void {
    if (!this.lex.eat(p)) fail(this.lex.peek().start, this.lex.peek().start, `expected '${p}'${what}`);
  }

  value(): Node {
    if (++this.depth > MAX_DEPTH) fail(this.lex.peek().start, this.lex.peek().end, "nested too deeply");
    try {
      return this.valueInner();
    } finally {
      this.depth--;
    }
  }

  private valueInner(): Node {
    const lex = this.lex;
    const t = lex.peek();
    const start = t.start;
    switch (t.kind) {
      case "string":
        lex.take();
        return new StringLit(start, t.end, unescapeString(lex.src, t));
      case "bytes":
        lex.take();
        return new BytesLit(start, t.end, unescapeBytes(lex.src, t));
      case "number":
        lex.take();
        return new NumberLit(start, t.end, t.text);
      case "type": {
        lex.take();
        const ts = t.text.slice(1);
        if (!isValidType(ts)) fail(t.start, t.end, "invalid type declaration");
        const child = this.value();
        return new TypedLit(start, child.end, parseType(ts), child);
      }
      case "word":
        return this.word(t);
      case "punct":
        if (t.text === "[") return this.array();
        if (t.text === "(") return this.tuple();
        if (t.text === "{") return this.dict();
        if (t.text === "<") {
          lex.take();
          const child = this.value();
          this.require(">", " to follow variant value");
          return new VariantLit(start, lex.pos, child);
        }
        break;
    }
    return fail(start, start, "expected value");
  }

  private word(t: Tok): Node {
    const lex = this.lex;
    lex.take();
    if (t.text === "true" || t.text === "false") return new BoolLit(t.start, t.end, t.text === "true");
    if (t.text === "nothing") return new NothingLit(t.start, t.end);
    if (t.text === "inf" || t.text === "nan") return new NumberLit(t.start, t.end, t.text);
    if (t.text === "just") {
      const child = this.value();
      return new JustLit(t.start, child.end, child);
    }
    const kt = KEYWORD_TYPES[t.text];
    if (kt) {
      const child = this.value();
      return new TypedLit(t.start, child.end, parseType(kt), child);
    }
    return fail(t.start, t.end, "unknown keyword");
  }

  private array(): Node {
    const lex = this.lex;
    const start = lex.take().start;
    const items: Node[] = [];
    while (!lex.eat("]")) {
      if (items.length > 0) this.require(",", " or ']' to follow array element");
      items.push(this.value());
    }
    return new ArrayLit(start, lex.pos, items);
  }

  private tuple(): Node {
    const lex = this.lex;
    const start = lex.take().start;
    const items: Node[] = [];
    while (!lex.eat(")")) {
      if (items.length === 1) {
        this.require(",", " after first tuple element");
        // a one-element tuple needs its trailing comma: "(x,)"
        if (lex.eat(")")) return new TupleLit(start, lex.pos, items);
      } else if (items.length > 1) {
        this.require(",", " or ')' to follow tuple element");
      }
      items.push(this.value());
    }
    if (items.length === 1) fail(lex.pos - 1, lex.pos - 1, "expected ',' after first tuple element");
    return new TupleLit(start, lex.pos, items);
  }

  private dict(): Node {
    const lex = this.lex;
    const start = lex.take().start;
    if (lex.eat("}")) return new DictLit(start, lex.pos, [], [], false);
    const firstKey = this.value();
    if (lex.eat(",")) {
      const v = this.value();
      this.require("}", " to follow dictionary entry");
      return new DictLit(start, lex.pos, [firstKey], [v], true);
    }
    this.require(":", " or ',' to follow dictionary entry key");
    const keys = [firstKey];
    const values = [this.value()];
    while (!lex.eat("}")) {
      this.require(",", " or '}' to follow dictionary entry");
      keys.push(this.value());
      this.require(":", " to follow dictionary entry key");
      values.push(this.value());
    }
    return new DictLit(start, lex.pos, keys, values, false);
  }
}

const SHORT: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
const dec = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function unescapeString(s: Uint8Array, t: Tok): string {
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

function unescapeBytes(s: Uint8Array, t: Tok): Uint8Array {
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

/**
 * Parse GVariant text (`'str'`, `uint32 7`, `[1, 2]`, `@a{sv} {}`, `<true>`, `just 5`, `b'x'`…).
 * With `expectedType` the text must denote a value of that type; without, the type is inferred
 * as GLib does (an unannotated integer is int32, a float double, a string `s`).
 * @returns the value with its type, as a {@link Variant}.
 * @throws ArborError USAGE `Invalid GVariant text "…": START-END:reason`, with data
 *   `{position, reason}` (position as GLib prints it: `3-6` or `2`).
 * @example parseVariantText("[1, 2]") // Variant { type: "ai", value: [1, 2] }
 */
export function parseVariantText(text: string, expectedType?: string | GVType): Variant {
  const src = enc.encode(text);
  try {
    const lex = new Lexer(src);
    const node = new Parser(lex).value();
    const end = lex.peek();
    if (end.kind !== "end") fail(end.start, end.start, "expected end of input");
    if (expectedType === undefined) return resolve(node);
    const t = typeof expectedType === "string" ? parseType(expectedType) : expectedType;
    return new Variant(t.str, node.build(t));
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    const { position } = e;
    throw new ArborError("USAGE", `Invalid GVariant text "${text}": ${position}:${e.reason}`, {
      data: { position, reason: e.reason },
    });
  }
}
