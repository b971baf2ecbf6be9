import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  isChecksum,
  isRef,
  isValidFilename,
  parseRefspec,
  validateChecksum,
  validateFilename,
  validateRef,
  validateRemoteName,
} from "../../../src/core/validate.js";
import { isArborError } from "../../../src/errors.js";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isArborError(e)) return e.code;
    throw e;
  }
  return undefined;
}

/** Names to try as refs; the real ostree decides which are valid. */
const REF_NAMES = [
  "..",
  ".",
  "/a",
  "a//b",
  "a/",
  "-a",
  ".a",
  "a.",
  "a..b",
  "a/.b",
  "a/-b",
  "a/..",
  "_a",
  "_",
  "a-b.c_d/e",
  "a/b/c",
  "A",
  "1",
  "exampleos/x86_64/stable",
  "é",
  "ünïcode/ref",
  "日本",
  "٣",
  "Ⅳ",
  "ª",
  "²",
  "a‿b",
  "e\u0301",
  "a b",
  "a~",
  "a@b",
  "a^",
  "a\tb",
  "a\\b",
  "a*",
  "a?",
  "a[b]",
  "😀",
];

describe("validateRef() and friends", () => {
  it("accepts and rejects the obvious", () => {
    expect(isRef("main")).toBe(true);
    expect(isRef("")).toBe(false);
    expect(isRef("a:b")).toBe(false);
    expect(code(() => validateRef("../x"))).toBe("BAD_REF");
    expect(validateRef("os/x86_64/stable")).toBe("os/x86_64/stable");
  });

  it("gives the same answer on its ASCII fast path as the Unicode rule", () => {
    const unicodeRule = (s: string) =>
      s.length > 0 && s.split("/").every((f) => /^[\p{L}\p{N}_][-.\p{L}\p{N}_]*$/u.test(f));
    const ascii = fc.string({ unit: fc.constantFrom(..."aZ09_-./:~ \t\n@^\u007f\u0000"), maxLength: 12 });
    fc.assert(fc.property(ascii, (s) => isRef(s) === unicodeRule(s)));
  });

  it("parses refspecs with an optional remote", () => {
    expect(parseRefspec("main")).toEqual({ remote: null, ref: "main" });
    expect(parseRefspec("origin:os/stable")).toEqual({ remote: "origin", ref: "os/stable" });
    expect(parseRefspec("r.x:a")).toEqual({ remote: "r.x", ref: "a" });
    for (const bad of ["-r:a", ":a", "r:", "r:a:b", "r:/a", "r/x:a"])
      expect(
        code(() => parseRefspec(bad)),
        bad,
      ).toBe("BAD_REF");
  });

  it("validates remote names", () => {
    expect(validateRemoteName("origin")).toBe("origin");
    for (const bad of ["", "-o", ".o", "a/b", "a b", "a:b"])
      expect(
        code(() => validateRemoteName(bad)),
        bad,
      ).toBe("BAD_NAME");
  });

  it("validates checksums", () => {
    expect(isChecksum("a".repeat(64))).toBe(true);
    for (const bad of ["A".repeat(64), "a".repeat(63), "a".repeat(65), `${"a".repeat(63)}g`, ""]) {
      expect(isChecksum(bad), bad).toBe(false);
      expect(code(() => validateChecksum(bad))).toBe("BAD_CHECKSUM");
    }
  });

  it("validates file names", () => {
    for (const ok of ["a", "...", ".a", "a b", "é", "-"]) expect(isValidFilename(ok), ok).toBe(true);
    for (const bad of ["", ".", "..", "a/b", "/", "a\0b"]) {
      expect(isValidFilename(bad), JSON.stringify(bad)).toBe(false);
      expect(code(() => validateFilename(bad))).toBe("BAD_NAME");
    }
  });
});

const HAVE_OSTREE = (() => {
  try {
    execFileSync("ostree", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!HAVE_OSTREE)("validateRef() against ostree refs --create", () => {
  const SLOTS = 8;
  let dir: string;
  // one repo per concurrent `ostree refs --create`: concurrent ref creation in one repo races
  const repos: Array<{ repo: string; commit: string }> = [];
  beforeAll(() => {
    dir = fs.mkdtempSync(join(tmpdir(), "arbor-ref-"));
    fs.mkdirSync(join(dir, "tree"));
    for (let i = 0; i < SLOTS; i++) {
      const repo = join(dir, `repo${i}`);
      // ostree resolves a name that starts like a commit checksum as a revision ("a^" → the
      // parent of commit a…): choose a commit whose first hex digit starts none of the names, in
      // a repository holding no other commit (an earlier attempt would be found by its prefix)
      const firsts = new Set(REF_NAMES.map((n) => n[0]));
      let commit = "";
      for (let k = 0; commit === "" || firsts.has(commit[0]); k++) {
        fs.rmSync(repo, { recursive: true, force: true });
        execFileSync("ostree", ["init", `--repo=${repo}`, "--mode=archive"]);
        commit = execFileSync("ostree", [
          "commit",
          `--repo=${repo}`,
          "-b",
          "base",
          `--subject=attempt ${k}`,
          `--tree=dir=${join(dir, "tree")}`,
        ])
          .toString()
          .trim();
      }
      repos.push({ repo, commit });
    }
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("accepts exactly the names ostree accepts", async () => {
    const run = promisify(execFile);
    const verdicts: Array<[string, boolean]> = [];
    for (let i = 0; i < REF_NAMES.length; i += SLOTS) {
      const batch = REF_NAMES.slice(i, i + SLOTS);
      const results = await Promise.all(
        batch.map((name, j) =>
          run("ostree", ["refs", `--repo=${repos[j]!.repo}`, `--create=${name}`, repos[j]!.commit]).then(
            () => true,
            (e: { stderr?: string }) => {
              // "1" is also a prefix of the commit checksum one time in 16: ostree then says the
              // ref "already exists" — having accepted the name
              if (e.stderr?.includes("already exists")) return true;
              expect(e.stderr, name).toContain("Invalid refspec");
              return false;
            },
          ),
        ),
      );
      for (const [j, name] of batch.entries()) verdicts.push([name, results[j]!]);
    }
    for (const [name, ok] of verdicts)
      expect(isRef(name), `${JSON.stringify(name)}: ostree says ${ok}`).toBe(ok);
    // both sides agree on a mix of valid and invalid names
    expect(verdicts.some(([, ok]) => ok)).toBe(true);
    expect(verdicts.some(([, ok]) => !ok)).toBe(true);
  });
});
