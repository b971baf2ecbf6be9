/**
 * A small, strict XML tokenizer for the one XML format a pull reads (metalink files): elements,
 * attributes, text, comments, processing instructions and CDATA, reported as start/end/text
 * events. No DTDs, no external entities, no namespaces (names are compared as written): nothing
 * in the document can make the parser read a file, fetch a URL or expand text exponentially.
 *
 * Hostile input is bounded: the caller caps the document's size, nesting is capped at
 * {@link MAX_DEPTH}, and every malformation is an error naming line and column, as GLib's
 * GMarkup (which ostree uses) reports them: `line 1 char 1: Document must begin with an element`.
 */
import { ArborError } from "../errors.js";

/** Deepest element nesting accepted. */
export const MAX_DEPTH = 64;

/** Receives the document's events in order. */
export interface XmlHandler {
  start(name: string, attrs: ReadonlyMap<string, string>): void;
  end(name: string): void;
  text(text: string): void;
}

const NAME_START = /[A-Za-z_:\u00c0-\uffff]/;
const NAME_CHAR = /[A-Za-z0-9_:.\-\u00b7\u00c0-\uffff]/;
const PREDEFINED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

class Tokenizer {
  private i = 0;
  private readonly stack: string[] = [];
  private sawRoot = false;

  constructor(
    private readonly s: string,
    private readonly h: XmlHandler,
  ) {}

  private fail(msg: string, at = this.i): never {
    const before = this.s.slice(0, at);
    const line = before.split("\n").length;
    const col = at - before.lastIndexOf("\n");
    throw new ArborError("OBJECT_CORRUPT", `line ${line} char ${col}: ${msg}`);
  }

  private name(): string {
    const start = this.i;
    if (!NAME_START.test(this.s[this.i] ?? "")) this.fail("Expected a name");
    this.i++;
    while (this.i < this.s.length && NAME_CHAR.test(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i);
  }

  private skipSpace(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i]!)) this.i++;
  }

  /** Text with entity and character references replaced. */
  private unescape(raw: string, at: number): string {
    return raw.replace(/&([^;&<]*)(;?)/g, (_m, ref: string, semi: string, off: number) => {
      if (!semi) this.fail("Entity reference without a closing ';'", at + off);
      if (ref.startsWith("#")) {
        const hex = ref[1] === "x" || ref[1] === "X";
        const digits = ref.slice(hex ? 2 : 1);
        const ok = hex ? /^[0-9A-Fa-f]{1,6}$/.test(digits) : /^[0-9]{1,7}$/.test(digits);
        const cp = ok ? Number.parseInt(digits, hex ? 16 : 10) : -1;
        if (cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
          this.fail(`Invalid character reference "&${ref};"`, at + off);
        return String.fromCodePoint(cp);
      }
      const v = PREDEFINED[ref];
      if (v === undefined) this.fail(`Unknown entity "&${ref};"`, at + off);
      return v;
    });
  }

  private until(end: string, what: string): string {
    const j = this.s.indexOf(end, this.i);
    if (j < 0) this.fail(`Unterminated ${what}`);
    const body = this.s.slice(this.i, j);
    this.i = j + end.length;
    return body;
  }

  private startTag(): void {
    const at = this.i;
    this.i++; // <
    const name = this.name();
    const attrs = new Map<string, string>();
    for (;;) {
      const hadSpace = /\s/.test(this.s[this.i] ?? "");
      this.skipSpace();
      const c = this.s[this.i];
      if (c === undefined) this.fail(`Unterminated element <${name}>`, at);
      if (c === ">" || (c === "/" && this.s[this.i + 1] === ">")) break;
      if (!hadSpace) this.fail(`Expected a space before attribute in <${name}>`);
      const an = this.name();
      this.skipSpace();
      if (this.s[this.i] !== "=") this.fail(`Attribute "${an}" of <${name}> has no value`);
      this.i++;
      this.skipSpace();
      const q = this.s[this.i];
      if (q !== '"' && q !== "'") this.fail(`Value of attribute "${an}" is not quoted`);
      this.i++;
      const vAt = this.i;
      const raw = this.until(q, `value of attribute "${an}"`);
      if (raw.includes("<")) this.fail(`Character "<" in the value of attribute "${an}"`, vAt);
      if (attrs.has(an)) this.fail(`Attribute "${an}" given twice in <${name}>`);
      attrs.set(an, this.unescape(raw, vAt));
    }
    const selfClosing = this.s[this.i] === "/";
    this.i += selfClosing ? 2 : 1;
    if (this.stack.length === 0) {
      if (this.sawRoot) this.fail("Document has more than one root element", at);
      this.sawRoot = true;
    }
    if (this.stack.length >= MAX_DEPTH) this.fail(`Elements nested deeper than ${MAX_DEPTH}`, at);
    this.h.start(name, attrs);
    if (selfClosing) this.h.end(name);
    else this.stack.push(name);
  }

  private endTag(): void {
    const at = this.i;
    this.i += 2; // </
    const name = this.name();
    this.skipSpace();
    if (this.s[this.i] !== ">") this.fail(`Expected ">" to close </${name}>`);
    this.i++;
    const open = this.stack.pop();
    if (open !== name)
      this.fail(
        open === undefined
          ? `Element </${name}> was closed, but no element is open`
          : `Element <${open}> was closed by </${name}>`,
        at,
      );
    this.h.end(name);
  }

  run(): void {
    const s = this.s;
    this.skipSpace();
    if (s[this.i] !== "<") this.fail("Document must begin with an element (e.g. <book>)");
    while (this.i < s.length) {
      if (s[this.i] !== "<") {
        const at = this.i;
        const j = s.indexOf("<", this.i);
        const raw = s.slice(this.i, j < 0 ? s.length : j);
        this.i += raw.length;
        if (this.stack.length === 0) {
          if (raw.trim() !== "") this.fail("Text outside of the root element", at);
          continue;
        }
        this.h.text(this.unescape(raw, at));
      } else if (s.startsWith("<!--", this.i)) {
        this.i += 4;
        this.until("-->", "comment");
      } else if (s.startsWith("<?", this.i)) {
        this.i += 2;
        this.until("?>", "processing instruction");
      } else if (s.startsWith("<![CDATA[", this.i)) {
        if (this.stack.length === 0) this.fail("CDATA outside of the root element");
        this.i += 9;
        this.h.text(this.until("]]>", "CDATA section"));
      } else if (s.startsWith("<!", this.i)) {
        this.fail("Document type declarations are not supported");
      } else if (s[this.i + 1] === "/") {
        this.endTag();
      } else {
        this.startTag();
      }
    }
    if (this.stack.length) this.fail(`Document ended with element <${this.stack.at(-1)}> still open`);
    if (!this.sawRoot) this.fail("Document was empty or contained only whitespace");
  }
}

/**
 * Tokenize `text`, calling `handler` for each element start, end and text run (entities resolved).
 * A handler may throw to stop.
 * @throws ArborError OBJECT_CORRUPT `line L char C: …` for malformed XML.
 */
export function parseXml(text: string, handler: XmlHandler): void {
  new Tokenizer(text, handler).run();
}
