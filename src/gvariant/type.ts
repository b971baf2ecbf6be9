/**
 * GVariant type strings: parsing, fixed size and alignment (GVariant spec §1.1).
 *
 * A parsed type is cached per string, so callers may pass type strings freely.
 */
import { ArborError } from "../errors.js";

export type BasicCode = "b" | "y" | "n" | "q" | "i" | "u" | "h" | "x" | "t" | "d" | "s" | "o" | "g";

export type GVType =
  | { kind: "basic"; code: BasicCode; str: string; fixedSize: number | null; align: number }
  | { kind: "variant"; str: "v"; fixedSize: null; align: 8 }
  | { kind: "array"; elem: GVType; str: string; fixedSize: null; align: number }
  | { kind: "maybe"; elem: GVType; str: string; fixedSize: null; align: number }
  | { kind: "tuple"; members: GVType[]; str: string; fixedSize: number | null; align: number }
  | { kind: "dict"; key: GVType; value: GVType; str: string; fixedSize: number | null; align: number };

const BASIC: Record<BasicCode, [number | null, number]> = {
  b: [1, 1],
  y: [1, 1],
  n: [2, 2],
  q: [2, 2],
  i: [4, 4],
  u: [4, 4],
  h: [4, 4],
  x: [8, 8],
  t: [8, 8],
  d: [8, 8],
  s: [null, 1],
  o: [null, 1],
  g: [null, 1],
};

const cache = new Map<string, GVType>();

/** Round `n` up to a multiple of `align` (a power of two). */
export function alignUp(n: number, align: number): number {
  return (n + align - 1) & ~(align - 1);
}

function bad(s: string, why: string): never {
  throw new ArborError("GVARIANT_INVALID", `Invalid GVariant type string "${s}": ${why}`);
}

/** Compute fixed size and alignment of a tuple (or dict entry) from its members. */
function layoutTuple(members: GVType[]): { fixedSize: number | null; align: number } {
  let align = 1;
  let offset = 0;
  let fixed = true;
  for (const m of members) {
    align = Math.max(align, m.align);
    if (m.fixedSize === null) fixed = false;
    else offset = alignUp(offset, m.align) + m.fixedSize;
  }
  if (!fixed) return { fixedSize: null, align };
  if (members.length === 0) return { fixedSize: 1, align: 1 };
  return { fixedSize: alignUp(offset, align), align };
}

/** Parse one complete type starting at `pos`; returns the type and the next position. */
function parseAt(s: string, pos: number, depth: number): [GVType, number] {
  if (depth > 64) bad(s, "nested too deeply");
  const c = s[pos];
  if (c === undefined) bad(s, "unexpected end");
  if (c in BASIC) {
    const [fixedSize, align] = BASIC[c as BasicCode];
    return [{ kind: "basic", code: c as BasicCode, str: c, fixedSize, align }, pos + 1];
  }
  if (c === "v") return [{ kind: "variant", str: "v", fixedSize: null, align: 8 }, pos + 1];
  if (c === "a" || c === "m") {
    const [elem, next] = parseAt(s, pos + 1, depth + 1);
    const str = s.slice(pos, next);
    return [
      c === "a"
        ? { kind: "array", elem, str, fixedSize: null, align: elem.align }
        : { kind: "maybe", elem, str, fixedSize: null, align: elem.align },
      next,
    ];
  }
  if (c === "(") {
    const members: GVType[] = [];
    let p = pos + 1;
    while (s[p] !== ")") {
      if (p >= s.length) bad(s, "unterminated tuple");
      const [m, next] = parseAt(s, p, depth + 1);
      members.push(m);
      p = next;
    }
    const { fixedSize, align } = layoutTuple(members);
    return [{ kind: "tuple", members, str: s.slice(pos, p + 1), fixedSize, align }, p + 1];
  }
  if (c === "{") {
    const [key, p1] = parseAt(s, pos + 1, depth + 1);
    if (key.kind !== "basic") bad(s, "dict entry key must be a basic type");
    const [value, p2] = parseAt(s, p1, depth + 1);
    if (s[p2] !== "}") bad(s, "dict entry must have exactly two members");
    const { fixedSize, align } = layoutTuple([key, value]);
    return [{ kind: "dict", key, value, str: s.slice(pos, p2 + 1), fixedSize, align }, p2 + 1];
  }
  return bad(s, `unexpected character "${c}" at ${pos}`);
}

/**
 * Parse a complete GVariant type string, e.g. `(a{sv}aya(say)sstayay)`.
 * @throws ArborError GVARIANT_INVALID if it is not exactly one valid type.
 */
export function parseType(s: string): GVType {
  const hit = cache.get(s);
  if (hit) return hit;
  const [t, next] = parseAt(s, 0, 0);
  if (next !== s.length) bad(s, "trailing characters");
  if (cache.size < 4096) cache.set(s, t);
  return t;
}

/** True if `s` is exactly one valid type string. */
export function isValidType(s: string): boolean {
  try {
    parseType(s);
    return true;
  } catch {
    return false;
  }
}

/** True if `s` is a D-Bus object path (`/` or `/seg/seg`, segments of `[A-Za-z0-9_]`), as type `o` requires. */
export function isObjectPath(s: string): boolean {
  return s === "/" || /^(\/[A-Za-z0-9_]+)+$/.test(s);
}

/** True if `s` is a type signature (zero or more complete types, no maybes), as type `g` requires. */
export function isSignature(s: string): boolean {
  if (!/^[ybnqiuxthdvasog(){}]*$/.test(s)) return false;
  try {
    let pos = 0;
    while (pos < s.length) pos = parseAt(s, pos, 0)[1];
    return true;
  } catch {
    return false;
  }
}
