import { describe, expect, it } from "vitest";
import { MAX_DEPTH, parseXml } from "../../../src/pull/xml-events.js";

/** The events of a document as strings: "<name a=v>", "</name>", "text". */
function events(xml: string): string[] {
  const out: string[] = [];
  parseXml(xml, {
    start: (n, a) => out.push(`<${n}${[...a].map(([k, v]) => ` ${k}=${v}`).join("")}>`),
    end: (n) => out.push(`</${n}>`),
    text: (t) => {
      if (t.trim()) out.push(t.trim());
    },
  });
  return out;
}

describe("parseXml", () => {
  it("reports elements, attributes and text; skips declarations, comments and PIs", () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<!-- a comment with <tags> -->
<a x="1" y='two'>
  <b/>
  <c k = "v">hi &amp; &lt;bye&gt; &#65;&#x42; &quot;&apos;</c>
  <?pi inside?>
  <d><![CDATA[<raw> & stuff]]></d>
</a>
`;
    expect(events(xml)).toEqual([
      "<a x=1 y=two>",
      "<b>",
      "</b>",
      "<c k=v>",
      `hi & <bye> AB "'`,
      "</c>",
      "<d>",
      "<raw> & stuff",
      "</d>",
      "</a>",
    ]);
  });

  it("decodes entities in attribute values", () => {
    expect(events(`<a u="http://h/x?a=1&amp;b=2"/>`)).toEqual(["<a u=http://h/x?a=1&b=2>", "</a>"]);
  });

  it.each([
    ["bacon\n", /^line 1 char 1: Document must begin with an element \(e\.g\. <book>\)$/],
    ["", /Document must begin with an element/],
    ["<a>", /line 1 char 4: Document ended with element <a> still open/],
    ["<a></b>", /line 1 char 4: Element <a> was closed by <\/b>/],
    ["<a/></a>", /Element <\/a> was closed, but no element is open/],
    ["<a/><b/>", /more than one root element/],
    ["<a/>tail", /Text outside of the root element/],
    ['<a x="1" x="2"/>', /Attribute "x" given twice/],
    ["<a x=1/>", /Value of attribute "x" is not quoted/],
    ['<a x="1"y="2"/>', /Expected a space before attribute/],
    ["<a>&nbsp;</a>", /Unknown entity "&nbsp;"/],
    ["<a>&#0;</a>", /Invalid character reference/],
    ["<a>&#xD800;</a>", /Invalid character reference/],
    ["<a>&#x110000;</a>", /Invalid character reference/],
    ["<a>& b</a>", /Entity reference without a closing ';'/],
    ['<a x="<"/>', /Character "<" in the value/],
    ["<a><!-- never closed </a>", /Unterminated comment/],
    ["<a><![CDATA[ x </a>", /Unterminated CDATA section/],
    ["<a", /Unterminated element <a>/],
    ["<1a/>", /Expected a name/],
  ])("refuses %j", (xml, msg) => {
    expect(() => events(xml)).toThrow(msg);
  });

  it("refuses document type declarations (no entity expansion, no external entities)", () => {
    const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<lolz>&lol2;</lolz>`;
    expect(() => events(laughs)).toThrow(/line 2 char 1: Document type declarations are not supported/);
    const xxe = `<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`;
    expect(() => events(xxe)).toThrow(/Document type declarations are not supported/);
  });

  it(`accepts ${MAX_DEPTH} levels of nesting and refuses one more`, () => {
    const doc = (n: number) => "<e>".repeat(n) + "</e>".repeat(n);
    expect(events(doc(MAX_DEPTH))).toHaveLength(2 * MAX_DEPTH);
    expect(() => events(doc(MAX_DEPTH + 1))).toThrow(`Elements nested deeper than ${MAX_DEPTH}`);
  });

  it("a handler may stop the parse by throwing", () => {
    expect(() =>
      parseXml("<a><b/></a>", {
        start: (n) => {
          if (n === "b") throw new Error("stop at b");
        },
        end: () => {},
        text: () => {},
      }),
    ).toThrow("stop at b");
  });
});
