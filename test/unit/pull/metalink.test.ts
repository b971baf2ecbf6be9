import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ArborError } from "../../../src/errors.js";
import {
  checkMetalinkTarget,
  fetchViaMetalink,
  MAX_METALINK_TARGETS,
  parseMetalink,
} from "../../../src/pull/metalink.js";

const summary = Buffer.from("pretend this is a summary\n");
const sha256 = createHash("sha256").update(summary).digest("hex");
const sha512 = createHash("sha512").update(summary).digest("hex");

interface Parts {
  size?: string;
  hashes?: string;
  urls?: string;
  name?: string;
  before?: string;
}

/** A metalink in the shape ostree's test writes, with parts replaceable. */
function metalink(p: Parts = {}): string {
  const hashes =
    p.hashes ??
    `<hash type="md5">0123</hash><hash type="sha256">${sha256}</hash><hash type="sha512">${sha512}</hash>`;
  const urls =
    p.urls ??
    `<url protocol="http" type="http" location="US" preference="100">http://a.example/repo/summary.bad</url>
     <url protocol="ftp" type="ftp">ftp://b.example/repo/summary</url>
     <url protocol="https" type="https">https://c.example/os/repo/summary</url>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
  ${p.before ?? ""}
  <files>
    <file name="${p.name ?? "summary"}">
      ${p.size ?? `<size>${summary.length}</size>`}
      <verification>${hashes}</verification>
      <resources maxconnections="1">${urls}</resources>
    </file>
  </files>
</metalink>`;
}

describe("parseMetalink", () => {
  it("reads size, hashes and the http(s) URLs in order", () => {
    expect(parseMetalink(metalink(), "summary")).toEqual({
      size: summary.length,
      sha256,
      sha512,
      urls: ["http://a.example/repo/summary.bad", "https://c.example/os/repo/summary"],
    });
  });

  it("skips unknown elements however deep, other <file>s, and later <file>s once one was read", () => {
    const deep =
      "<deeply><nested><files><file name='summary'><size>1</size></file></files></nested></deeply>";
    const xml = metalink({ before: deep }).replace(
      "<files>",
      `<files><file name="other"><size>5</size><resources><url protocol="http">http://x/other</url></resources></file>`,
    );
    const twice = xml.replace("</files>", `<file name="summary"><size>9</size></file></files>`);
    expect(parseMetalink(twice, "summary").size).toBe(summary.length);
    expect(parseMetalink(twice, "summary").urls[0]).toBe("http://a.example/repo/summary.bad");
  });

  it.each<[string, Parts | string, RegExp | string]>([
    ["malformed XML", "bacon", /Document must begin with an element/],
    ["no <file>", `<metalink><files></files></metalink>`, "No <file> element found"],
    ["no <file> for summary", { name: "other" }, "No <file name='summary'> found"],
    ["no size", { size: "" }, "No <size> element found or it is zero"],
    ["size zero", { size: "<size>0</size>" }, "No <size> element found or it is zero"],
    ["size not a number", { size: "<size>12abc</size>" }, "No <size> element found or it is zero"],
    [
      "only md5",
      { hashes: `<hash type="md5">0123</hash>` },
      "No <verification> element with known <hash type=> found",
    ],
    ["a bad sha512", { hashes: `<hash type="sha512">bacon</hash>` }, "Invalid hash digest for sha512"],
    [
      "a short sha256",
      { hashes: `<hash type="sha256">${sha256.slice(2)}</hash>` },
      "Invalid hash digest for sha256",
    ],
    [
      "no http URL",
      { urls: `<url protocol="ftp">ftp://x/summary</url>` },
      "No <url method='http'> elements found",
    ],
    ["a URL that does not parse", { urls: `<url protocol="http">not a url</url>` }, "No <url method='http'>"],
    ["a <hash> without type", { hashes: `<hash>abc</hash>` }, `Element "hash" has no "type" attribute`],
  ])("refuses %s, in ostree's words", (_what, doc, msg) => {
    const xml = typeof doc === "string" ? doc : metalink(doc);
    expect(() => parseMetalink(xml, "summary")).toThrow(msg);
  });

  it("the missing-file error is NOT_FOUND, the others OBJECT_CORRUPT", () => {
    const code = (xml: string): string | undefined => {
      try {
        parseMetalink(xml, "summary");
      } catch (e) {
        return (e as ArborError).code;
      }
    };
    expect(code(metalink({ name: "other" }))).toBe("NOT_FOUND");
    expect(code(metalink({ size: "" }))).toBe("OBJECT_CORRUPT");
  });
});

describe("checkMetalinkTarget", () => {
  const f = parseMetalink(metalink(), "summary");
  it("accepts the exact bytes, checking SHA-512 first, else SHA-256", () => {
    checkMetalinkTarget(f, summary);
    checkMetalinkTarget({ ...f, sha512: null }, summary);
    expect(() => checkMetalinkTarget({ ...f, sha512: null, sha256: "0".repeat(64) }, summary)).toThrow(
      `Expected checksum is ${"0".repeat(64)} but actual is ${sha256}`,
    );
  });

  it("refuses a wrong size or hash", () => {
    expect(() => checkMetalinkTarget(f, Buffer.from("moo"))).toThrow(
      `Expected size is ${summary.length} bytes but content is 3 bytes`,
    );
    const other = Buffer.alloc(summary.length, 1);
    const actual = createHash("sha512").update(other).digest("hex");
    expect(() => checkMetalinkTarget(f, other)).toThrow(
      `Expected checksum is ${sha512} but actual is ${actual}`,
    );
  });
});

describe("fetchViaMetalink", () => {
  const ML = "http://ml.example/metalink.xml";
  function getter(files: Record<string, string | Buffer>, log: string[] = []) {
    return async (url: string, maxBytes: number): Promise<Uint8Array> => {
      log.push(url);
      const v = files[url];
      if (v === undefined) throw new ArborError("NOT_FOUND", `Cannot fetch ${url}: Server returned HTTP 404`);
      const b = Buffer.from(v);
      if (b.length > maxBytes) throw new ArborError("OBJECT_CORRUPT", "too large");
      return b;
    };
  }

  it("tries the targets in order and returns the first that matches, with its directory", async () => {
    const log: string[] = [];
    const r = await fetchViaMetalink(
      getter(
        {
          [ML]: metalink(),
          "http://a.example/repo/summary.bad": "broken",
          "https://c.example/os/repo/summary": summary,
        },
        log,
      ),
      ML,
      "summary",
      1 << 20,
    );
    expect(Buffer.from(r.data).equals(summary)).toBe(true);
    expect(r.baseUrl).toBe("https://c.example/os/repo");
    expect(log).toEqual([ML, "http://a.example/repo/summary.bad", "https://c.example/os/repo/summary"]);
  });

  it("reports the last target's error when none matches", async () => {
    await expect(
      fetchViaMetalink(
        getter({ [ML]: metalink(), "https://c.example/os/repo/summary": "moo" }), // the first one is a 404
        ML,
        "summary",
        1 << 20,
      ),
    ).rejects.toThrow(
      `Exhausted 2 metalink targets, last error: Expected size is ${summary.length} bytes but content is 3 bytes`,
    );
  });

  it("a metalink that cannot be fetched, or is not UTF-8, fails before any target", async () => {
    await expect(fetchViaMetalink(getter({}), ML, "summary", 1 << 20)).rejects.toThrow("HTTP 404");
    await expect(
      fetchViaMetalink(getter({ [ML]: Buffer.from([0x3c, 0xff, 0xfe]) }), ML, "summary", 1 << 20),
    ).rejects.toThrow("not valid UTF-8");
  });

  it(`tries at most ${MAX_METALINK_TARGETS} targets of a hostile list`, async () => {
    const urls = Array.from(
      { length: 1000 },
      (_, i) => `<url protocol="http">http://m${i}.example/repo/summary</url>`,
    ).join("");
    const log: string[] = [];
    await expect(
      fetchViaMetalink(getter({ [ML]: metalink({ urls }) }, log), ML, "summary", 1 << 20),
    ).rejects.toThrow(`Exhausted ${MAX_METALINK_TARGETS} metalink targets, last error: Cannot fetch`);
    expect(log).toHaveLength(1 + MAX_METALINK_TARGETS);
    expect(log.at(-1)).toBe(`http://m${MAX_METALINK_TARGETS - 1}.example/repo/summary`);
  });

  it("a declared size above the limit is refused before any target is fetched", async () => {
    const log: string[] = [];
    const err = await fetchViaMetalink(
      getter({ [ML]: metalink({ size: "<size>2000000</size>" }) }, log),
      ML,
      "summary",
      1 << 20,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArborError);
    expect((err as ArborError).code).toBe("OBJECT_CORRUPT");
    expect((err as ArborError).message).toBe(
      `Invalid metalink "${ML}": summary size 2000000 is larger than the limit of ${1 << 20} bytes`,
    );
    expect(log).toEqual([ML]);
  });
});
