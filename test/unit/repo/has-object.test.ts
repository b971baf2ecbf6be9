/** Repo.hasLooseObject: present, absent, and content objects that are dangling symlinks. */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RepoMode } from "../../../src/core/mode.js";
import { Repo } from "../../../src/repo/repo.js";

const CS = "ab".repeat(32);
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-hasobj-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function repoWith(mode: RepoMode): Repo {
  return Repo.create(join(dir, mode), { mode });
}

function place(repo: Repo, type: "file" | "dirtree", make: (p: string) => void): void {
  const p = repo.objectPath(CS, type);
  mkdirSync(dirname(p), { recursive: true });
  make(p);
}

describe("Repo.hasLooseObject", () => {
  for (const mode of ["bare", "bare-user-only"] as const) {
    it(`counts a ${mode} symlink object whose target does not exist`, () => {
      const repo = repoWith(mode);
      expect(repo.hasLooseObject("file", CS)).toBe(false);
      place(repo, "file", (p) => symlinkSync("/nonexistent/target", p));
      expect(repo.hasLooseObject("file", CS)).toBe(true);
      expect(repo.hasObject("file", CS)).toBe(true);
    });
  }

  for (const mode of ["archive", "bare-user"] as const) {
    it(`finds ${mode} content and metadata objects, and not absent ones`, () => {
      const repo = repoWith(mode);
      expect(repo.hasLooseObject("file", CS)).toBe(false);
      expect(repo.hasLooseObject("dirtree", CS)).toBe(false);
      place(repo, "file", (p) => writeFileSync(p, "x"));
      place(repo, "dirtree", (p) => writeFileSync(p, ""));
      expect(repo.hasLooseObject("file", CS)).toBe(true);
      expect(repo.hasLooseObject("dirtree", CS)).toBe(true);
      expect(repo.hasLooseObject("dirmeta", CS)).toBe(false);
    });
  }
});
