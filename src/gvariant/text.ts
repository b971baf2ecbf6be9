/**
 * GVariant text format, printing side: exactly what GLib's `g_variant_print(v, annotate)`
 * produces, hence what `ostree show --raw`, `--print-metadata-key`, `--print-variant-type` and
 * `summary --view` print. Parsing (`ostree commit --add-metadata=K=V`) is in text-parse.ts.
 *
 * The rules, each checked against the real ostree (test/unit/gvariant/text-print.test.ts):
 * - type prefixes (`byte`, `int16`, `uint16`, `uint32`, `int64`, `uint64`, `handle`,
 *   `objectpath`, `signature`) only while "annotate" is on; int32, double, boolean and string
 *   never get one (they are what the parser infers by default);
 * - annotate stays on through tuples and dict entries, is switched off after the first element
 *   of an array (and the first entry of a dictionary), off inside a maybe, and back on inside
 *   a variant (`<…>`), whose contents are of unknown type;
 * - empty arrays and dictionaries print as `@TYPE []` / `@TYPE {}` while annotating, as do
 *   maybes (`@mi 5`, `@ms nothing`); a Just whose printed child ends in `nothing` gets `just `;
 * - `ay` whose only NUL byte is its last prints as a bytestring `b'…'` (C-escaped, double
 *   quotes if it contains `'`), whatever the annotate flag;
 * - strings: single quotes, or double quotes if the string contains `'`; the quote in use and
 *   `\` are backslash-escaped; non-printable characters (control, format, unassigned in
 *   Unicode 15.0, the version of GLib 2.74) as `\a \b \f \n \r \t \v`, `\uXXXX` or `\UXXXXXXXX`;
 * - doubles as C `%.17g`, with `.0` added when that has no `.`, `e`, `inf` or `nan`;
 * - one-member tuples as `(x,)`, dict entries outside arrays as `{k, v}`.
 */
import { type GVValue, Just, Variant } from "./serialize.js";
import { type GVType, parseType } from "./type.js";

export { parseVariantText } from "./text-parse.js";

/** Options of {@link printVariant}. */
export interface PrintOptions {
  /** Add type annotations where the type would otherwise be ambiguous (GLib's `type_annotate`). Default true. */
  annotate?: boolean;
}

/**
 * Print a value in GVariant text format, as `g_variant_print(value, annotate)` does.
 * @throws ArborError GVARIANT_INVALID if `type` is not a valid type string.
 * @example printVariant("(uay)", [7, new Uint8Array()]) // "(uint32 7, @ay [])"
 */
export function printVariant(type: string | GVType, value: GVValue, opts: PrintOptions = {}): string {
  const t = typeof type === "string" ? parseType(type) : type;
  const out: string[] = [];
  print(out, t, value, opts.annotate ?? true);
  return out.join("");
}

const PREFIX: Record<string, string> = {
  y: "byte ",
  n: "int16 ",
  q: "uint16 ",
  u: "uint32 ",
  x: "int64 ",
  t: "uint64 ",
  h: "handle ",
  o: "objectpath ",
  g: "signature ",
};

function print(out: string[], t: GVType, v: GVValue, annotate: boolean): void {
  switch (t.kind) {
    case "basic":
      if (annotate && t.code in PREFIX) out.push(PREFIX[t.code]!);
      out.push(basic(t.code, v));
      return;
    case "variant": {
      const inner = v as Variant;
      out.push("<");
      print(out, parseType(inner.type), inner.value, true);
      out.push(">");
      return;
    }
    case "maybe": {
      if (annotate) out.push(`@${t.str} `);
      if (v === null) {
        out.push("nothing");
        return;
      }
      const child: string[] = [];
      print(child, t.elem, v instanceof Just ? v.value : v, false);
      const s = child.join("");
      if (s.endsWith("nothing")) out.push("just ");
      out.push(s);
      return;
    }
    case "array":
      array(out, t, v, annotate);
      return;
    case "tuple": {
      const items = v as readonly GVValue[];
      out.push("(");
      t.members.forEach((m, i) => {
        if (i > 0) out.push(", ");
        print(out, m, items[i]!, annotate);
      });
      out.push(t.members.length === 1 ? ",)" : ")");
      return;
    }
    case "dict": {
      const [k, val] = v as readonly GVValue[];
      out.push("{");
      print(out, t.key, k!, annotate);
      out.push(", ");
      print(out, t.value, val!, annotate);
      out.push("}");
      return;
    }
  }
}

function array(out: string[], t: GVType & { kind: "array" }, v: GVValue, annotate: boolean): void {
  const { elem } = t;
  if (v instanceof Uint8Array) {
    const nul = v.indexOf(0);
    if (v.length > 0 && nul === v.length - 1) {
      out.push(bytestring(v.subarray(0, nul)));
      return;
    }
  }
  const items: readonly GVValue[] = v instanceof Uint8Array ? Array.from(v) : (v as readonly GVValue[]);
  const isDict = elem.kind === "dict";
  if (items.length === 0) {
    if (annotate) out.push(`@${t.str} `);
    out.push(isDict ? "{}" : "[]");
    return;
  }
  out.push(isDict ? "{" : "[");
  let first = true;
  for (const item of items) {
    if (!first) out.push(", ");
    if (elem.kind === "dict") {
      const [k, val] = item as readonly GVValue[];
      print(out, elem.key, k!, annotate);
      out.push(": ");
      print(out, elem.value, val!, annotate);
    } else {
      print(out, elem, item, annotate);
    }
    annotate = false;
    first = false;
  }
  out.push(isDict ? "}" : "]");
}

function basic(code: string, v: GVValue): string {
  switch (code) {
    case "b":
      return v ? "true" : "false";
    case "y":
      return `0x${(v as number).toString(16).padStart(2, "0")}`;
    case "n":
    case "q":
    case "i":
    case "u":
    case "h":
    case "x":
    case "t":
      return String(v);
    case "d":
      return formatDouble(v as number);
    case "o":
    case "g":
      // object paths and signatures cannot contain anything that would need escaping
      return `'${v as string}'`;
    default:
      return quoteString(v as string);
  }
}

/** C's `%.17g`, then `.0` appended if the result looks like an integer (as GLib does). */
export function formatDouble(d: number): string {
  let s: string;
  if (Number.isNaN(d)) s = "nan";
  else if (!Number.isFinite(d)) s = d < 0 ? "-inf" : "inf";
  else s = formatG17(d);
  return /[.enN]/.test(s) ? s : `${s}.0`;
}

function formatG17(d: number): string {
  const neg = d < 0 || Object.is(d, -0);
  const [mant, expStr] = Math.abs(d).toExponential(16).split("e") as [string, string];
  const exp = Number(expStr);
  const digits = mant.replace(".", "");
  let s: string;
  if (exp < -4 || exp >= 17) {
    const frac = digits.slice(1).replace(/0+$/, "");
    const e = Math.abs(exp).toString().padStart(2, "0");
    s = `${digits[0]}${frac ? `.${frac}` : ""}e${exp < 0 ? "-" : "+"}${e}`;
  } else if (exp < 0) {
    s = `0.${"0".repeat(-exp - 1)}${digits}`.replace(/0+$/, "");
  } else {
    const int = digits.slice(0, exp + 1);
    const frac = digits.slice(exp + 1).replace(/0+$/, "");
    s = frac ? `${int}.${frac}` : int;
  }
  return neg ? `-${s}` : s;
}

/** Code points assigned in Unicode 15.1–17.0: unassigned, hence non-printable, for GLib 2.74 (Unicode 15.0). */
// biome-ignore format: a table
const NEWER_THAN_GLIB: readonly number[] = [
  0x88f,0x88f,0x897,0x897,0xc5c,0xc5c,0xcdc,0xcdc,0x1acf,0x1add,0x1ae0,0x1aeb,0x1b4e,0x1b4f,0x1b7f,0x1b7f,
  0x1c89,0x1c8a,0x20c1,0x20c1,0x2427,0x2429,0x2b96,0x2b96,0x2ffc,0x2fff,0x31e4,0x31e5,0x31ef,0x31ef,
  0xa7cb,0xa7cf,0xa7d2,0xa7d2,0xa7d4,0xa7d4,0xa7da,0xa7dc,0xa7f1,0xa7f1,0xfbc3,0xfbd2,0xfd90,0xfd91,
  0xfdc8,0xfdce,0x105c0,0x105f3,0x10940,0x10959,0x10d40,0x10d65,0x10d69,0x10d85,0x10d8e,0x10d8f,
  0x10ec2,0x10ec7,0x10ed0,0x10ed8,0x10efa,0x10efc,0x11380,0x11389,0x1138b,0x1138b,0x1138e,0x1138e,
  0x11390,0x113b5,0x113b7,0x113c0,0x113c2,0x113c2,0x113c5,0x113c5,0x113c7,0x113ca,0x113cc,0x113d5,
  0x113d7,0x113d8,0x113e1,0x113e2,0x116d0,0x116e3,0x11b60,0x11b67,0x11bc0,0x11be1,0x11bf0,0x11bf9,
  0x11db0,0x11ddb,0x11de0,0x11de9,0x11f5a,0x11f5a,0x13460,0x143fa,0x16100,0x16139,0x16d40,0x16d79,
  0x16ea0,0x16eb8,0x16ebb,0x16ed3,0x16ff2,0x16ff6,0x187f8,0x187ff,0x18cff,0x18cff,0x18d09,0x18d1e,
  0x18d80,0x18df2,0x1cc00,0x1ccfc,0x1cd00,0x1ceb3,0x1ceba,0x1ced0,0x1cee0,0x1cef0,0x1e5d0,0x1e5fa,
  0x1e5ff,0x1e5ff,0x1e6c0,0x1e6de,0x1e6e0,0x1e6f5,0x1e6fe,0x1e6ff,0x1f6d8,0x1f6d8,0x1f777,0x1f77a,
  0x1f8b2,0x1f8bb,0x1f8c0,0x1f8c1,0x1f8d0,0x1f8d8,0x1fa54,0x1fa57,0x1fa89,0x1fa8a,0x1fa8e,0x1fa8f,
  0x1fabe,0x1fabe,0x1fac6,0x1fac6,0x1fac8,0x1fac8,0x1facd,0x1facd,0x1fadc,0x1fadc,0x1fadf,0x1fadf,
  0x1fae9,0x1faea,0x1faef,0x1faef,0x1fbcb,0x1fbef,0x1fbfa,0x1fbfa,0x2b73a,0x2b73f,0x2cea2,0x2cead,
  0x2ebf0,0x2ee5d,0x323b0,0x33479,
];

// Built on first use from a string: a Unicode-property literal is parsed when the module loads.
let nonPrintable: RegExp | undefined;

/** GLib's g_unichar_isprint (Unicode 15.0): not control, format, unassigned or surrogate. */
export function isPrintable(cp: number): boolean {
  // biome-ignore lint/complexity/useRegexLiterals: see nonPrintable
  nonPrintable ??= new RegExp("[\\p{Cc}\\p{Cf}\\p{Cn}]", "u");
  if (nonPrintable.test(String.fromCodePoint(cp))) return false;
  if (cp < 0x88f) return true;
  for (let i = 0; i < NEWER_THAN_GLIB.length; i += 2) {
    if (cp < NEWER_THAN_GLIB[i]!) return true;
    if (cp <= NEWER_THAN_GLIB[i + 1]!) return false;
  }
  return true;
}

const SHORT_ESCAPES: Record<number, string> = { 7: "a", 8: "b", 9: "t", 10: "n", 11: "v", 12: "f", 13: "r" };

/** A string literal as GLib prints it. */
export function quoteString(s: string): string {
  const quote = s.includes("'") ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === "\\") out += "\\";
    if (isPrintable(cp)) out += ch;
    else if (cp in SHORT_ESCAPES) out += `\\${SHORT_ESCAPES[cp]}`;
    else if (cp < 0x10000) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += `\\U${cp.toString(16).padStart(8, "0")}`;
  }
  return out + quote;
}

const C_ESCAPES: Record<number, string> = {
  8: "b",
  12: "f",
  10: "n",
  13: "r",
  9: "t",
  11: "v",
  92: "\\",
  34: '"',
};

/** A NUL-free byte string as GLib prints an `ay` bytestring (g_strescape, then quoted). */
function bytestring(b: Uint8Array): string {
  let body = "";
  let hasQuote = false;
  for (const c of b) {
    if (c === 0x27) hasQuote = true;
    if (c in C_ESCAPES) body += `\\${C_ESCAPES[c]}`;
    else if (c < 0x20 || c >= 0x7f) body += `\\${c.toString(8).padStart(3, "0")}`;
    else body += String.fromCharCode(c);
  }
  return hasQuote ? `b"${body}"` : `b'${body}'`;
}

/**
 * `value` with every multi-byte number byte-swapped, recursively (GLib's g_variant_byteswap).
 * `ostree show --raw`, `--print-variant-type` and `log --raw` print the byte-swapped value on
 * little-endian hosts (so OSTree's big-endian fields read right, and host-order ones wrong):
 * `printVariant(t, byteswapValue(t, v))` reproduces them.
 */
export function byteswapValue(type: string | GVType, value: GVValue): GVValue {
  const t = typeof type === "string" ? parseType(type) : type;
  switch (t.kind) {
    case "basic":
      return swapNumber(t.code, value);
    case "variant": {
      const inner = value as Variant;
      return new Variant(inner.type, byteswapValue(inner.type, inner.value));
    }
    case "maybe":
      if (value === null) return null;
      return value instanceof Just
        ? new Just(byteswapValue(t.elem, value.value))
        : byteswapValue(t.elem, value);
    case "array":
      return value instanceof Uint8Array ? value : (value as GVValue[]).map((e) => byteswapValue(t.elem, e));
    case "tuple":
      return t.members.map((m, i) => byteswapValue(m, (value as GVValue[])[i]!));
    case "dict": {
      const [k, v] = value as GVValue[];
      return [byteswapValue(t.key, k!), byteswapValue(t.value, v!)];
    }
  }
}

const swapView = new DataView(new ArrayBuffer(8));

function swapNumber(code: string, v: GVValue): GVValue {
  const dv = swapView;
  switch (code) {
    case "n":
      dv.setInt16(0, v as number, true);
      return dv.getInt16(0, false);
    case "q":
      dv.setUint16(0, v as number, true);
      return dv.getUint16(0, false);
    case "i":
    case "h":
      dv.setInt32(0, v as number, true);
      return dv.getInt32(0, false);
    case "u":
      dv.setUint32(0, v as number, true);
      return dv.getUint32(0, false);
    case "x":
      dv.setBigInt64(0, BigInt(v as bigint), true);
      return dv.getBigInt64(0, false);
    case "t":
      dv.setBigUint64(0, BigInt(v as bigint), true);
      return dv.getBigUint64(0, false);
    case "d":
      dv.setFloat64(0, v as number, true);
      return dv.getFloat64(0, false);
    default:
      return v;
  }
}
