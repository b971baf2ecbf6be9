import { describe, expect, it } from "vitest";
import { ArborError } from "../../../src/errors.js";
import { MirroredFetcher } from "../../../src/pull/fetcher-mirrored.js";
import {
  MAX_MIRRORLIST_SIZE,
  MAX_MIRRORS,
  MAX_PROBES,
  parseMirrorlist,
  resolveMirrorlist,
} from "../../../src/pull/mirrorlist.js";
import { MemoryFetcher } from "./_fetcher.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("parseMirrorlist", () => {
  it("keeps http(s) URLs in order, skipping blanks, comments and other schemes", () => {
    const text =
      "\n# comment\n\n  http://a/repo  \r\nfile:///srv/repo\nftp://b/x\nnot a url\nhttps://c/repo/\n";
    expect(parseMirrorlist(text)).toEqual(["http://a/repo", "https://c/repo/"]);
  });
});

describe("resolveMirrorlist", () => {
  function getter(ok: Set<string>, list: string | Uint8Array, log: string[] = []) {
    return async (url: string): Promise<Uint8Array> => {
      log.push(url);
      if (url === "http://list/mirrors") return typeof list === "string" ? enc(list) : list;
      if (ok.has(url)) return enc("[core]\n");
      throw new ArborError("NOT_FOUND", `Cannot fetch ${url}: Server returned HTTP 404`);
    };
  }

  it("drops mirrors before the first whose config answers, and probes no further", async () => {
    const log: string[] = [];
    const list = "http://dead/repo\nhttp://m1/repo/\nhttp://m2/repo\n";
    const got = await resolveMirrorlist(
      getter(new Set(["http://m1/repo/config"]), list, log),
      "http://list/mirrors",
    );
    expect(got).toEqual(["http://m1/repo/", "http://m2/repo"]);
    expect(log).toEqual(["http://list/mirrors", "http://dead/repo/config", "http://m1/repo/config"]);
  });

  it("no working mirror, an unreachable list, or a list that is not UTF-8: clear errors", async () => {
    await expect(
      resolveMirrorlist(getter(new Set(), "http://dead/repo\n"), "http://list/mirrors"),
    ).rejects.toThrow("No valid mirrors were found in mirrorlist 'http://list/mirrors'");
    await expect(resolveMirrorlist(getter(new Set(), "# nothing\n"), "http://list/mirrors")).rejects.toThrow(
      "No valid mirrors were found",
    );
    await expect(resolveMirrorlist(getter(new Set(), ""), "http://list/other")).rejects.toThrow(
      "While fetching mirrorlist 'http://list/other': Cannot fetch http://list/other: Server returned HTTP 404",
    );
    await expect(
      resolveMirrorlist(getter(new Set(), new Uint8Array([0xff, 0x0a])), "http://list/mirrors"),
    ).rejects.toThrow("not valid UTF-8");
  });

  it(`probes at most ${MAX_PROBES} mirrors of a hostile list`, async () => {
    const log: string[] = [];
    const list = Array.from({ length: 1000 }, (_, i) => `http://dead${i}/repo`).join("\n");
    await expect(resolveMirrorlist(getter(new Set(), list, log), "http://list/mirrors")).rejects.toThrow(
      "No valid mirrors",
    );
    expect(log).toHaveLength(1 + MAX_PROBES);
  });

  it(`keeps at most ${MAX_MIRRORS} mirrors, and reads the list with a ${MAX_MIRRORLIST_SIZE}-byte cap`, async () => {
    const caps: Array<[string, number]> = [];
    const list = Array.from({ length: 1000 }, (_, i) => `http://m${i}/repo`).join("\n");
    const got = await resolveMirrorlist(async (url, maxBytes) => {
      caps.push([url, maxBytes]);
      return enc(url === "http://list/mirrors" ? list : "[core]\n");
    }, "http://list/mirrors");
    expect(got).toHaveLength(MAX_MIRRORS);
    expect(got[0]).toBe("http://m0/repo");
    expect(got.at(-1)).toBe(`http://m${MAX_MIRRORS - 1}/repo`);
    expect(caps[0]).toEqual(["http://list/mirrors", MAX_MIRRORLIST_SIZE]);
    expect(caps).toHaveLength(2); // the list, then the first mirror's config
  });
});

/** A MemoryFetcher whose `get` fails with a transport error for one path. */
class BrokenFetcher extends MemoryFetcher {
  override async get(base: "url" | "content", path: string, opts = {}) {
    if (path === "broken") throw new ArborError("NETWORK", "Cannot fetch broken: connection refused");
    if (path === "forbidden")
      throw new ArborError("NETWORK", "Cannot fetch forbidden: Server returned HTTP 403", {
        data: { status: 403 },
      });
    return super.get(base, path, opts);
  }
}

describe("MirroredFetcher", () => {
  const m1 = () => new BrokenFetcher(new Map([["a", enc("a from m1")]]));
  const m2 = () =>
    new MemoryFetcher(
      new Map([
        ["a", enc("a from m2")],
        ["b", enc("b from m2")],
        ["forbidden", enc("f from m2")],
      ]),
    );

  it("asks the mirrors in order, moving on after an HTTP error answer", async () => {
    const [a, b] = [m1(), m2()];
    const f = new MirroredFetcher({ meta: [a, b] });
    expect(Buffer.from((await f.get("url", "a"))!.data).toString()).toBe("a from m1");
    expect(Buffer.from((await f.get("content", "b"))!.data).toString()).toBe("b from m2");
    expect(Buffer.from((await f.get("content", "forbidden"))!.data).toString()).toBe("f from m2");
    expect(await f.get("url", "c", { optional: true })).toBeNull();
    await expect(f.get("url", "c")).rejects.toThrow("HTTP 404");
    expect(a.log).toEqual(["a", "b", "c", "c"]);
    expect(b.log).toEqual(["b", "forbidden", "c", "c"]);
    expect(f.bytesTransferred).toBe(a.bytesTransferred + b.bytesTransferred);
  });

  it("a transport failure is final (not a mirror's answer)", async () => {
    const [a, b] = [m1(), m2()];
    const f = new MirroredFetcher({ meta: [a, b] });
    await expect(f.get("url", "broken")).rejects.toThrow("connection refused");
    expect(b.log).toEqual([]);
  });

  it("streams fail over the same way; content has its own list", async () => {
    const meta = m1();
    const content = [new MemoryFetcher(new Map()), m2()];
    const f = new MirroredFetcher({ meta: [meta], content });
    const s = (await f.stream("content", "b"))!;
    const chunks: Uint8Array[] = [];
    for await (const c of s.body) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe("b from m2");
    await expect(f.get("url", "b")).rejects.toThrow("HTTP 404");
    expect(meta.log).toEqual(["b"]);
  });

  it("serves preloaded url-base files (a metalink's verified summary) without a request", async () => {
    const a = m1();
    const f = new MirroredFetcher({ meta: [a], preloaded: new Map([["summary", enc("S")]]) });
    expect(Buffer.from((await f.get("url", "summary"))!.data).toString()).toBe("S");
    expect(await f.get("content", "summary", { optional: true })).toBeNull();
    expect(a.log).toEqual(["summary"]);
  });
});
