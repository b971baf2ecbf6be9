/**
 * GVariant text format, parsing side: what `ostree commit --add-metadata=KEY=VALUE` and
 * `ostree summary -m KEY=VALUE` accept (GLib's g_variant_parse without format strings).
 *
 * Two passes, as in GLib: the text is parsed into a tree of literals (tokens: text-lex.ts), then
 * a type is chosen (tree and inference: text-ast.ts).
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
import { Variant } from "./serialize.js";
import {
  ArrayLit,
  BoolLit,
  BytesLit,
  DictLit,
  JustLit,
  type Node,
  NothingLit,
  NumberLit,
  resolve,
  StringLit,
  TupleLit,
  TypedLit,
  VariantLit,
} from "./text-ast.js";
import { fail, Lexer, ParseError, type Tok, unescapeBytes, unescapeString } from "./text-lex.js";
import { type GVType, isValidType, parseType } from "./type.js";

export { coalescePatterns } from "./text-ast.js";

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
  const src = new TextEncoder().encode(text);
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
