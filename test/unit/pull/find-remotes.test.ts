/**
 * find-remotes library (src/pull/find-remotes.ts, pull-from-remotes.ts): file:// remotes made by
 * arbor itself — which remote is newest, which are ignored, bad input, pull failures.
 * The output format and --pull successes are compared with the real ostree in
 * test/interop/find-remotes.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { checkFinders, findRemotes } from "../../../src/pull/find-remotes.js";
import { pullFromRemotes } from "../../../src/pull/pull-from-remotes.js";
import { commitTree } from "../../../src/repo/commit.js";
import { readRef } from "../../../src/repo/refs.js";
import { addRemote } from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";
import { updateSummary } from "../../../src/repo/summary.js";

const A = "org.example.A";
let dir: string;
let tree: string;
let client: Repo;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-findremotes-unit-"));
  tree = join(dir, "tree");
  mkdirSync(tree);
  writeFileSync(join(tree, "f"), "hello\n");
  client = Repo.create(join(dir, "client"), { mode: "bare-user" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function source(name: string, collectionId: string, branches: Record<string, number>): Promise<string> {
  const repo = Repo.create(join(dir, name), { mode: "archive", collectionId });
  for (const [branch, timestamp] of Object.entries(branches))
    await commitTree(repo, { trees: [{ kind: "dir", path: tree }], branch, subject: branch, timestamp });
  await updateSummary(repo);
  return `file://${repo.path}`;
}

function remote(name: string, url: string, collectionId?: string): void {
  addRemote(client, {
    name,
    url,
    options: [
      ["gpg-verify", "false"],
      ...(collectionId ? [["collection-id", collectionId] as [string, string]] : []),
    ],
  });
}

describe("findRemotes", () => {
  it("keeps, per ref, the remote with the newest commit; drops remotes with nothing newest", async () => {
    remote("old", await source("old", A, { main: 1000, other: 5000 }), A);
    remote("new", await source("new", A, { main: 2000 }), A);
    remote("no-cid", await source("nocid", A, { main: 3000 }));
    const results = await findRemotes(client, [
      { collectionId: A, ref: "main" },
      { collectionId: A, ref: "other" },
    ]);
    expect(results.map((r) => r.remote).sort()).toEqual(["new", "old"]);
    const byName = Object.fromEntries(results.map((r) => [r.remote, r]));
    const newMain = readRef(Repo.open(join(dir, "new")), "main");
    expect(byName.new!.refs.find((r) => r.ref === "main")!.checksum).toBe(newMain);
    expect(byName.new!.refs.find((r) => r.ref === "other")!.checksum).toBeNull();
    expect(byName.old!.refs.find((r) => r.ref === "main")!.checksum).toBeNull();
    expect(byName.old!.refs.find((r) => r.ref === "other")!.checksum).not.toBeNull();
    expect(results.every((r) => r.priority === 100 && r.finder === "OstreeRepoFinderConfig")).toBe(true);

    // only `main` asked: the old remote is newest for nothing
    const onlyMain = await findRemotes(client, [{ collectionId: A, ref: "main" }]);
    expect(onlyMain.map((r) => r.remote)).toEqual(["new"]);
  });

  it("a remote whose summary is missing or unverifiable is ignored and reported", async () => {
    const bare = Repo.create(join(dir, "nosummary"), { mode: "archive", collectionId: A });
    await commitTree(bare, {
      trees: [{ kind: "dir", path: tree }],
      branch: "main",
      subject: "s",
      timestamp: 1,
    });
    remote("no-summary", `file://${bare.path}`, A);
    addRemote(client, {
      name: "needs-sig",
      url: await source("unsigned", A, { main: 1 }),
      options: [
        ["collection-id", A],
        ["gpg-verify-summary", "true"],
      ],
    });
    const ignored: string[] = [];
    const results = await findRemotes(client, [{ collectionId: A, ref: "main" }], {
      onIgnored: (name, e) => ignored.push(`${name}: ${(e as Error).message}`),
    });
    expect(results).toEqual([]);
    expect(ignored.sort()).toEqual([
      expect.stringMatching(/^needs-sig: GPG verification enabled, but no summary\.sig found/),
      "no-summary: Remote refs not available; server has no summary file",
    ]);
  });

  it("bad names and finders are refused", async () => {
    const code = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => "ok",
        (e) => (isArborError(e) ? `${e.code}: ${e.message}` : String(e)),
      );
    expect(await code(findRemotes(client, [{ collectionId: "nodots", ref: "x" }]))).toBe(
      "BAD_NAME: Invalid collection ID nodots",
    );
    expect(await code(findRemotes(client, [{ collectionId: A, ref: "a^b" }]))).toBe(
      "BAD_REF: Invalid ref name a^b",
    );
    expect(() => checkFinders([""])).toThrow("List of finders in --finders option must not be empty");
    expect(() => checkFinders(["config", "nope"])).toThrow(
      "Unknown or duplicate finder type given in --finders option: ‘nope’",
    );
    expect(() => checkFinders(["mount", "mount"])).toThrow("‘mount’");
    expect(() => checkFinders(["config", "lan"])).toThrow('Cannot use repo finder "lan"');
    expect(checkFinders(["config"])).toEqual(["config"]);
    client.config.set("core", "default-repo-finders", "config;bogus;");
    expect(await code(findRemotes(client, [{ collectionId: A, ref: "x" }]))).toBe(
      "BAD_CONFIG: Invalid configured repo-finder 'bogus'",
    );
    client.config.set("core", "default-repo-finders", "mount;");
    expect(await findRemotes(client, [{ collectionId: A, ref: "x" }])).toEqual([]);
  });
});

describe("pullFromRemotes", () => {
  it("commit signatures are required: unsigned commits fail, naming the refs; nothing is written", async () => {
    remote("src", await source("src", A, { main: 1000 }), A);
    const results = await findRemotes(client, [{ collectionId: A, ref: "main" }]);
    expect(results).toHaveLength(1);
    const err = await pullFromRemotes(client, results).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toBe(`Failed to pull some refs from the remotes: (${A}, main)`);
    expect(readRef(client, "main", "src")).toBeNull();
  });
});
