import * as fs from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeParsedArgs } from "../../../src/cli/args.js";
import { createContext, NO_REPO_MESSAGE, resolveRepoPath } from "../../../src/cli/context.js";
import { isArborError } from "../../../src/errors.js";
import { captureSink, fakeRepo, makeTmpDir } from "./_helpers.js";

let tmp: { dir: string; cleanup: () => void };
beforeEach(() => {
  tmp = makeTmpDir();
});
afterEach(() => tmp.cleanup());

function expectNoRepo(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(isArborError(e, "USAGE")).toBe(true);
    expect((e as Error).message).toBe(NO_REPO_MESSAGE);
    expect((e as { data?: { showUsage?: string } }).data?.showUsage).toBe("help");
    return;
  }
  throw new Error("expected the no-repo usage error");
}

describe("resolveRepoPath()", () => {
  it("prefers --repo, made absolute against cwd, without checking it", () => {
    fakeRepo(tmp.dir);
    const loc = resolveRepoPath({ option: "nowhere", env: { OSTREE_REPO: "/x" }, cwd: tmp.dir });
    expect(loc).toEqual({ path: join(tmp.dir, "nowhere"), source: "option" });
  });

  it("uses the current directory when it looks like a repo, even over $OSTREE_REPO (as ostree)", () => {
    const other = fakeRepo(join(tmp.dir, "other"));
    const cwd = fakeRepo(join(tmp.dir, "here"));
    expect(resolveRepoPath({ option: undefined, env: { OSTREE_REPO: other }, cwd })).toEqual({
      path: cwd,
      source: "cwd",
    });
  });

  it("needs both objects/ and config for the current directory to count", () => {
    const cwd = join(tmp.dir, "half");
    fs.mkdirSync(join(cwd, "objects"), { recursive: true });
    const repo = fakeRepo(join(tmp.dir, "repo"));
    expect(resolveRepoPath({ option: undefined, env: { OSTREE_REPO: repo }, cwd }).source).toBe("env");
  });

  it("falls back to $OSTREE_REPO, relative to cwd", () => {
    fakeRepo(join(tmp.dir, "r"));
    expect(resolveRepoPath({ option: undefined, env: { OSTREE_REPO: "r" }, cwd: tmp.dir })).toEqual({
      path: join(tmp.dir, "r"),
      source: "env",
    });
  });

  it("then to $OSTREE_SYSROOT/ostree/repo (empty $OSTREE_REPO is ignored)", () => {
    const repo = fakeRepo(join(tmp.dir, "ostree/repo"));
    expect(
      resolveRepoPath({ option: undefined, env: { OSTREE_REPO: "", OSTREE_SYSROOT: tmp.dir }, cwd: "/" }),
    ).toEqual({ path: repo, source: "default" });
  });

  it("reports 'Command requires a --repo argument' when the implicit path or its objects/ is missing", () => {
    expectNoRepo(() => resolveRepoPath({ option: undefined, env: { OSTREE_REPO: "missing" }, cwd: tmp.dir }));
    fs.mkdirSync(join(tmp.dir, "empty"));
    expectNoRepo(() => resolveRepoPath({ option: undefined, env: { OSTREE_REPO: "empty" }, cwd: tmp.dir }));
    expectNoRepo(() =>
      resolveRepoPath({ option: undefined, env: { OSTREE_SYSROOT: tmp.dir }, cwd: tmp.dir }),
    );
  });

  it("leaves other failures (a file instead of a directory) to opening the repo", () => {
    fs.writeFileSync(join(tmp.dir, "file"), "");
    expect(resolveRepoPath({ option: undefined, env: { OSTREE_REPO: "file" }, cwd: tmp.dir }).path).toBe(
      join(tmp.dir, "file"),
    );
  });
});

describe("createContext()", () => {
  it("exposes options, paths and outputs; stderr flushes stdout first", () => {
    const out = captureSink();
    const err = captureSink();
    const order: string[] = [];
    const ctx = createContext({
      args: makeParsedArgs([], { verbose: true, sysroot: "sr" }),
      prog: "ostree",
      env: { OSTREE_REPO: "r" },
      cwd: tmp.dir,
      out: {
        write(c: string | Uint8Array) {
          order.push(`out:${c}`);
          out.write(c);
        },
      },
      err: {
        write(c: string | Uint8Array) {
          order.push(`err:${c}`);
          err.write(c);
        },
      },
      helpText: () => "Usage:\n",
    });
    expect(ctx.verbose).toBe(true);
    expect(ctx.sysrootPath()).toBe(join(tmp.dir, "sr"));
    expect(ctx.helpText()).toBe("Usage:\n");
    ctx.out.line("first");
    ctx.debug("second");
    expect(order).toEqual(["out:first\n", "err:ostree-debug: second\n"]);
    expectNoRepo(() => ctx.repoPath());
    fakeRepo(join(tmp.dir, "r"));
    expect(ctx.repoPath()).toBe(join(tmp.dir, "r"));
  });

  it("is quiet about debug messages without --verbose, and builds usage errors", () => {
    const err = captureSink();
    const ctx = createContext({
      args: makeParsedArgs([], {}),
      env: {},
      cwd: tmp.dir,
      out: captureSink(),
      err,
    });
    ctx.debug("nothing");
    expect(err.text()).toBe("");
    const e = ctx.usageError("A rev argument is required");
    expect(isArborError(e, "USAGE")).toBe(true);
    expect(e.data?.showUsage).toBe("help-gap");
  });

  it("gives a progress reporter on stderr that prints only the summary off a TTY", () => {
    const err = captureSink();
    const ctx = createContext({
      args: makeParsedArgs([], {}),
      env: {},
      cwd: tmp.dir,
      out: captureSink(),
      err,
    });
    const p = ctx.progress();
    p.update("50%");
    p.done("2 objects fetched");
    expect(err.text()).toBe("2 objects fetched\n");
  });
});
