/**
 * GVariant text format: the syntax tree and type inference. Each literal has a *pattern* — a
 * type string that may contain `*` (anything), `N` (some number), `S` (some string: s/o/g) and
 * `M` (zero or more maybes may wrap what follows); array elements' patterns are merged
 * ({@link coalescePatterns}) and {@link resolve} picks GLib's defaults: int32 for `N`, `s` for
 * `S`, no maybe for `M`. Dictionaries take their value pattern from their first value only.
 */
import { type GVValue, Just, Variant } from "./serialize.js";
import { fail, ParseError, range } from "./text-lex.js";
import { type GVType, isObjectPath, isSignature, parseType } from "./type.js";

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

export abstract class Node {
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

export class StringLit extends Wrappable {
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

export class BytesLit extends Wrappable {
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

export class BoolLit extends Wrappable {
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

export class NumberLit extends Wrappable {
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

export class ArrayLit extends Wrappable {
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

export class DictLit extends Wrappable {
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

export class TupleLit extends Wrappable {
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

export class VariantLit extends Wrappable {
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

export class NothingLit extends Node {
  pattern(): string {
    return "m*";
  }
  build(t: GVType): GVValue {
    if (t.kind !== "maybe") this.mismatch(t);
    return null;
  }
}

export class JustLit extends Node {
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

export class TypedLit extends Node {
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
export function resolve(n: Node): Variant {
  let type = "";
  for (const c of n.pattern()) {
    if (c === "*") fail(n.start, n.end, "unable to infer type");
    if (c !== "M") type += c === "N" ? "i" : c === "S" ? "s" : c;
  }
  return new Variant(type, n.build(parseType(type)));
}
