import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  addCookie,
  cookieHeader,
  cookieJarPath,
  deleteCookie,
  formatCookieList,
  readCookies,
} from "../../../src/pull/cookies.js";

let dir: string;
let jar: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-cookies-"));
  jar = cookieJarPath(dir, "origin");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("remote cookie jars", () => {
  it("addCookie() appends Netscape lines as ostree writes them; deleteCookie() removes exactly one", () => {
    const now = Date.UTC(2026, 0, 1);
    addCookie(jar, { domain: "127.0.0.1", path: "/", name: "foo", value: "bar" }, now);
    addCookie(jar, { domain: ".example.com", path: "/repo", name: "baz", value: "badger" }, now);
    const exp = Date.UTC(2051, 0, 1) / 1000;
    expect(readFileSync(jar, "utf8")).toBe(
      `127.0.0.1\tFALSE\t/\tFALSE\t${exp}\tfoo\tbar\n.example.com\tTRUE\t/repo\tFALSE\t${exp}\tbaz\tbadger\n`,
    );
    expect(deleteCookie(jar, { domain: "127.0.0.1", path: "/", name: "nope" })).toBe(false);
    expect(deleteCookie(jar, { domain: "127.0.0.1", path: "/", name: "foo" })).toBe(true);
    expect(readCookies(jar).map((c) => c.name)).toEqual(["baz"]);
    expect(formatCookieList(readCookies(jar))).toBe(
      "--\nDomain: .example.com\nPath: /repo\nName: baz\nSecure: FALSE\nExpires: 2051-01-01 00:00:00 +0000\nValue: badger\n",
    );
  });

  it("rejects fields that would break the jar's line format, and bad remote names", () => {
    expect(() => addCookie(jar, { domain: "a\tb", path: "/", name: "n", value: "v" })).toThrow(
      /Invalid cookie domain/,
    );
    expect(() => addCookie(jar, { domain: "a", path: "/", name: "n", value: "v\nx" })).toThrow(
      /Invalid cookie value/,
    );
    expect(() => cookieJarPath(dir, "../x")).toThrow();
  });

  it("cookieHeader() sends only cookies matching host, path, scheme and expiry", () => {
    writeFileSync(
      jar,
      [
        "# Netscape HTTP Cookie File",
        "127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1",
        ".example.com\tTRUE\t/repo\tFALSE\t0\tb\t2",
        "#HttpOnly_example.com\tFALSE\t/\tTRUE\t0\tc\t3",
        "example.com\tFALSE\t/\tFALSE\t1\texpired\tx",
        "malformed line",
      ].join("\n"),
    );
    const c = readCookies(jar);
    expect(cookieHeader(c, "http://127.0.0.1:8080/repo/summary")).toBe("a=1");
    expect(cookieHeader(c, "http://cdn.example.com/repo/objects/x")).toBe("b=2");
    expect(cookieHeader(c, "http://cdn.example.com/repository")).toBeNull();
    expect(cookieHeader(c, "https://example.com/repo/x")).toBe("b=2; c=3");
    expect(cookieHeader(c, "http://example.com/x")).toBeNull();
    expect(cookieHeader([], "http://example.com/x")).toBeNull();
  });
});
