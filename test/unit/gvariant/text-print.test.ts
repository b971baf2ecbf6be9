import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Just, serialize, Variant } from "../../../src/gvariant/serialize.js";
import { byteswapValue, formatDouble, printVariant, quoteString } from "../../../src/gvariant/text.js";
import { arbTyped, HAVE_OSTREE, OstreeScratch, byteswapValue as testByteswap } from "./_arb.js";

const enc = new TextEncoder();

describe("printVariant()", () => {
  it("prints a commit as ostree show --raw does", () => {
    const md = [
      ["version", new Variant("s", "1")],
      ["ostree.bootable", new Variant("b", true)],
      ["ostree.ref-binding", new Variant("as", ["b"])],
    ];
    const csum = new Uint8Array([0x78, 0x01]);
    const s = printVariant("(a{sv}aya(say)sstayay)", [
      md,
      new Uint8Array(),
      [],
      "",
      "",
      1795641593n,
      csum,
      csum,
    ]);
    expect(s).toBe(
      "({'version': <'1'>, 'ostree.bootable': <true>, 'ostree.ref-binding': <['b']>}, @ay [], @a(say) [], '', '', uint64 1795641593, [byte 0x78, 0x01], [byte 0x78, 0x01])",
    );
  });

  it("annotates only the first element of an array and switches annotation back on inside variants", () => {
    expect(printVariant("au", [1, 2])).toBe("[uint32 1, 2]");
    expect(printVariant("aau", [[], [1]])).toBe("[@au [], [1]]");
    expect(printVariant("av", [new Variant("u", 1), new Variant("u", 2)])).toBe("[<uint32 1>, <uint32 2>]");
    expect(
      printVariant("a{ut}", [
        [1, 2n],
        [3, 4n],
      ]),
    ).toBe("{uint32 1: uint64 2, 3: 4}");
    expect(printVariant("au", [1, 2], { annotate: false })).toBe("[1, 2]");
  });

  it("prints empty containers with their type while annotating", () => {
    expect(printVariant("a{sv}", [])).toBe("@a{sv} {}");
    expect(printVariant("(asa{sv})", [[], []])).toBe("(@as [], @a{sv} {})");
    expect(printVariant("a{sv}", [], { annotate: false })).toBe("{}");
  });

  it("prints maybes with just/nothing", () => {
    expect(printVariant("mi", null)).toBe("@mi nothing");
    expect(printVariant("mi", 5)).toBe("@mi 5");
    expect(printVariant("mmi", null)).toBe("@mmi nothing");
    expect(printVariant("mmi", new Just(null))).toBe("@mmi just nothing");
    expect(printVariant("mmi", 5)).toBe("@mmi 5");
    expect(printVariant("(mmmi)", [new Just(new Just(null))])).toBe("(@mmmi just just nothing,)");
    expect(printVariant("mu", 5)).toBe("@mu 5");
  });

  it("prints one-member tuples, unit and dict entries", () => {
    expect(printVariant("(u)", [1])).toBe("(uint32 1,)");
    expect(printVariant("()", [])).toBe("()");
    expect(printVariant("{sv}", ["a", new Variant("i", 1)])).toBe("{'a', <1>}");
  });

  it("prints NUL-terminated byte arrays as bytestrings", () => {
    expect(printVariant("ay", enc.encode("ab\0"))).toBe("b'ab'");
    expect(printVariant("ay", enc.encode("it's\0"))).toBe(`b"it's"`);
    expect(printVariant("ay", enc.encode("\0"))).toBe("b''");
    expect(printVariant("ay", new Uint8Array([0, 0]))).toBe("[byte 0x00, 0x00]");
    expect(printVariant("ay", new Uint8Array([0x61, 0x0a, 0x80, 0x22, 0]))).toBe(`b'a\\n\\200\\"'`);
  });

  it("quotes strings as GLib does", () => {
    expect(quoteString("a")).toBe("'a'");
    expect(quoteString("it's")).toBe(`"it's"`);
    expect(quoteString(`it's "x"`)).toBe(`"it's \\"x\\""`);
    expect(quoteString("\\\x07\x1b\u00ad\u{10ffff}é")).toBe("'\\\\\\a\\u001b\\u00ad\\U0010ffffé'");
    expect(quoteString("\u2ffc")).toBe("'\\u2ffc'"); // assigned in Unicode 15.1, unassigned for GLib 2.74
  });

  it("byteswapValue() agrees with the test suite's independent byte swap", () => {
    fc.assert(
      fc.property(arbTyped, ({ type, value }) => {
        expect(byteswapValue(type, value)).toEqual(testByteswap(type, value));
      }),
      { numRuns: 300 },
    );
    expect(byteswapValue("(ut)", [1, 1n])).toEqual([0x01000000, 0x0100000000000000n]);
    const v = [-2, 0x1234, 5n, -6n, 0.5, new Just(null)];
    expect(byteswapValue("(nqtxdmmi)", byteswapValue("(nqtxdmmi)", v))).toEqual(v);
  });

  it("formats doubles as %.17g with .0 added", () => {
    expect(formatDouble(1)).toBe("1.0");
    expect(formatDouble(0.1)).toBe("0.10000000000000001");
    expect(formatDouble(-0)).toBe("-0.0");
    expect(formatDouble(1e-5)).toBe("1.0000000000000001e-05");
    expect(formatDouble(1e17)).toBe("1e+17");
    expect(formatDouble(1e16)).toBe("10000000000000000.0");
    expect(formatDouble(Number.NaN)).toBe("nan");
    expect(formatDouble(Number.NEGATIVE_INFINITY)).toBe("-inf");
  });
});

describe.skipIf(!HAVE_OSTREE)("printVariant() against ostree show --print-variant-type", () => {
  let scratch: OstreeScratch;
  beforeAll(() => {
    scratch = new OstreeScratch();
  });
  afterAll(() => scratch.cleanup());

  // ostree show byte-swaps every number before printing, so the file holds the swapped value
  function oracle(type: string, value: Parameters<typeof serialize>[1]): string {
    return scratch.show(type, serialize(type, testByteswap(type, value)));
  }

  it("agrees on hand-picked values", () => {
    const cases: Array<[string, Parameters<typeof serialize>[1]]> = [
      ["(mymay)", [7, enc.encode("ab")]],
      ["(yndqiuhxt)", [1, -2, 0.5, 3, -4, 5, 6, -7n, 8n]],
      ["(ogsb)", ["/a/b_1", "a{sv}(i)", "x", false]],
      [
        "a{sv}",
        [
          ["k", new Variant("ay", enc.encode("x\0"))],
          ["l", new Variant("mmi", new Just(null))],
        ],
      ],
      ["ad", [1, 0.1, -0, 1e-7, 1e300, 2 ** 53, Number.MIN_VALUE, Number.POSITIVE_INFINITY, Number.NaN]],
      ["as", ["\x07\b\t\n\v\f\r\x1b\x7f\u0085\u00ad\u2028\ue000\u0378\u{1f6dc}\u{2ebf0}", "it's", '"', "\\"]],
      ["{sv}", ["a", new Variant("{ut}", [1, 2n])]],
      ["(u)", [1]],
      ["()", []],
    ];
    for (const [type, value] of cases) expect(printVariant(type, value), type).toBe(oracle(type, value));
  });

  it("agrees on generated types and values (batched as av)", () => {
    fc.assert(
      fc.property(fc.array(arbTyped, { minLength: 1, maxLength: 150 }), (items) => {
        const value = items.map(({ type, value }) => new Variant(type, value));
        const ours = printVariant("av", value);
        const theirs = oracle("av", value);
        if (ours !== theirs) {
          // narrow down to the first value that differs, for a readable failure
          for (const it of items) {
            const one = [new Variant(it.type, it.value)];
            expect(printVariant("av", one), it.type).toBe(oracle("av", one));
          }
        }
        expect(ours).toBe(theirs);
      }),
      { numRuns: 8 },
    );
  });
});
