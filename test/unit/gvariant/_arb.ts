/** fast-check generators for GVariant types and matching values, and helpers to drive the real ostree. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { type GVValue, Just, Variant } from "../../../src/gvariant/serialize.js";
import { type GVType, parseType } from "../../../src/gvariant/type.js";

const BASIC = ["b", "y", "n", "q", "i", "u", "h", "x", "t", "d", "s", "o", "g"] as const;

/** Type strings up to `depth` levels of containers. */
export function arbType(depth = 3): fc.Arbitrary<string> {
  const basic = fc.constantFrom(...BASIC);
  if (depth === 0) return fc.oneof(basic, fc.constant("v"));
  const sub = arbType(depth - 1);
  return fc.oneof(
    { weight: 4, arbitrary: basic },
    { weight: 1, arbitrary: fc.constant("v") },
    { weight: 2, arbitrary: sub.map((t) => `a${t}`) },
    { weight: 1, arbitrary: fc.constant("ay") },
    { weight: 1, arbitrary: sub.map((t) => `m${t}`) },
    { weight: 2, arbitrary: fc.array(sub, { maxLength: 4 }).map((ms) => `(${ms.join("")})`) },
    { weight: 1, arbitrary: fc.tuple(basic, sub).map(([k, v]) => `a{${k}${v}}`) },
    { weight: 1, arbitrary: fc.tuple(basic, sub).map(([k, v]) => `{${k}${v}}`) },
  );
}

const objectPath = fc.oneof(
  fc.constant("/"),
  fc
    .array(fc.stringMatching(/^[A-Za-z0-9_]{1,6}$/), { minLength: 1, maxLength: 4 })
    .map((segs) => `/${segs.join("/")}`),
);

// D-Bus signatures: concatenated complete types without maybes
const signature = fc
  .array(
    arbType(2).filter((t) => !t.includes("m")),
    { maxLength: 3 },
  )
  .map((ts) => ts.join(""));

/** Any Unicode scalar value, biased to ASCII and the BMP (fc's "binary" unit is very slow to start). */
export const codePoint: fc.Arbitrary<string> = fc
  .oneof(
    fc.integer({ min: 0x20, max: 0x7e }),
    fc.integer({ min: 0, max: 0xffff }),
    fc.integer({ min: 0x10000, max: 0x10ffff }),
  )
  .filter((c) => c < 0xd800 || c > 0xdfff)
  .map((c) => String.fromCodePoint(c));

/** Strings without NUL; `unicode` mixes in arbitrary code points (never lone surrogates). */
export function arbString(unicode = true): fc.Arbitrary<string> {
  const ascii = fc.string({ unit: "binary-ascii", maxLength: 12 });
  const any = fc.array(codePoint, { maxLength: 8 }).map((cs) => cs.join(""));
  return (unicode ? fc.oneof(ascii, any, fc.constantFrom("", "'", '"', "\\", "it's", "a\tb\nc")) : ascii).map(
    (s) => s.replace(/\0/g, "0"),
  );
}

const double = fc.oneof(
  fc.double(),
  fc.integer({ min: -1000, max: 1000 }).map((n) => n / 8),
  fc.constantFrom(0, -0, 1, 0.1, 1e-5, 1e16, 1e17, 1e300, 123456789012345680000, Number.MIN_VALUE),
);

const valueCache = new Map<string, fc.Arbitrary<GVValue>>();
const stringArb = arbString();

/** Values of type `t`, in arbor's JS representation. */
export function arbValue(t: string | GVType, variantDepth = 2): fc.Arbitrary<GVValue> {
  const ty = typeof t === "string" ? parseType(t) : t;
  const key = `${variantDepth}:${ty.str}`;
  let arb = valueCache.get(key);
  if (!arb) {
    arb = makeArbValue(ty, variantDepth);
    valueCache.set(key, arb);
  }
  return arb;
}

function makeArbValue(ty: GVType, variantDepth: number): fc.Arbitrary<GVValue> {
  switch (ty.kind) {
    case "basic":
      switch (ty.code) {
        case "b":
          return fc.boolean();
        case "y":
          return fc.integer({ min: 0, max: 0xff });
        case "n":
          return fc.integer({ min: -0x8000, max: 0x7fff });
        case "q":
          return fc.integer({ min: 0, max: 0xffff });
        case "i":
        case "h":
          return fc.integer({ min: -0x80000000, max: 0x7fffffff });
        case "u":
          return fc.integer({ min: 0, max: 0xffffffff });
        case "x":
          return fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
        case "t":
          return fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
        case "d":
          return double;
        case "o":
          return objectPath;
        case "g":
          return signature;
        default:
          return stringArb;
      }
    case "variant":
      return (variantDepth > 0 ? arbType(1) : fc.constantFrom(...BASIC)).chain((inner) =>
        arbValue(inner, variantDepth - 1).map((v) => new Variant(inner, v)),
      );
    case "maybe": {
      // canonical form: an explicit Just only where the element (a maybe) holds Nothing or a Just
      const just = arbValue(ty.elem, variantDepth).map((x) =>
        ty.elem.kind === "maybe" && (x === null || x instanceof Just) ? new Just(x) : x,
      );
      return fc.option(just, { nil: null, freq: 3 });
    }
    case "array":
      if (ty.elem.kind === "basic" && ty.elem.code === "y") {
        return fc.oneof(
          fc.uint8Array({ maxLength: 40 }),
          fc
            .string({ unit: "binary-ascii", maxLength: 10 })
            .map((s) => new TextEncoder().encode(`${s.replace(/\0/g, "")}\0`)),
        );
      }
      return fc.array(arbValue(ty.elem, variantDepth), { maxLength: 4 });
    case "tuple":
      return fc.tuple(...ty.members.map((m) => arbValue(m, variantDepth)));
    case "dict":
      return fc.tuple(arbValue(ty.key, variantDepth), arbValue(ty.value, variantDepth));
  }
}

/** A type string together with a value of that type. */
export const arbTyped: fc.Arbitrary<{ type: string; value: GVValue }> = arbType(3).chain((type) =>
  arbValue(type).map((value) => ({ type, value })),
);

function swapBytes(t: GVType & { kind: "basic" }, v: GVValue): GVValue {
  const dv = new DataView(new ArrayBuffer(8));
  switch (t.code) {
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
      dv.setBigInt64(0, v as bigint, true);
      return dv.getBigInt64(0, false);
    case "t":
      dv.setBigUint64(0, v as bigint, true);
      return dv.getBigUint64(0, false);
    case "d":
      dv.setFloat64(0, v as number, true);
      return dv.getFloat64(0, false);
    default:
      return v;
  }
}

/** `v` with every number byte-swapped, as `g_variant_byteswap` would (ostree show always byte-swaps). */
export function byteswapValue(t: string | GVType, v: GVValue): GVValue {
  const ty = typeof t === "string" ? parseType(t) : t;
  switch (ty.kind) {
    case "basic":
      return swapBytes(ty, v);
    case "variant": {
      const inner = v as Variant;
      return new Variant(inner.type, byteswapValue(inner.type, inner.value));
    }
    case "maybe":
      if (v === null) return null;
      return v instanceof Just ? new Just(byteswapValue(ty.elem, v.value)) : byteswapValue(ty.elem, v);
    case "array":
      return v instanceof Uint8Array ? v : (v as GVValue[]).map((e) => byteswapValue(ty.elem, e));
    case "tuple":
      return ty.members.map((m, i) => byteswapValue(m, (v as GVValue[])[i]!));
    case "dict":
      return [byteswapValue(ty.key, (v as GVValue[])[0]!), byteswapValue(ty.value, (v as GVValue[])[1]!)];
  }
}

/** Whether the real `ostree` binary is on PATH. */
export const HAVE_OSTREE = (() => {
  try {
    execFileSync("ostree", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** A scratch dir with an empty archive repo, for `ostree show --print-variant-type`. */
export class OstreeScratch {
  readonly dir = fs.mkdtempSync(join(tmpdir(), "arbor-gv-"));
  readonly repo = join(this.dir, "repo");
  private n = 0;
  constructor(mode = "archive") {
    execFileSync("ostree", ["init", `--repo=${this.repo}`, `--mode=${mode}`]);
  }

  /** What `ostree show --print-variant-type=TYPE` prints for `bytes` (without the final newline). */
  show(type: string, bytes: Uint8Array): string {
    const f = join(this.dir, `v${this.n++}`);
    fs.writeFileSync(f, bytes);
    try {
      return execFileSync("ostree", ["show", `--repo=${this.repo}`, `--print-variant-type=${type}`, f], {
        maxBuffer: 1 << 28,
      })
        .toString()
        .replace(/\n$/, "");
    } finally {
      fs.rmSync(f, { force: true });
    }
  }

  /** Run ostree with `--repo` set; returns stdout. */
  ostree(...args: string[]): string {
    return execFileSync("ostree", [...args, `--repo=${this.repo}`], { maxBuffer: 1 << 28 }).toString();
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
