/**
 * fetchRemoteSummary() on what a server may send: an unreadable `summary.sig` (ignored unless the
 * summary must be verified, then "No signatures found"), and where the cache goes (`cacheDir`,
 * as `pull --cache-dir`). Nothing that failed verification is cached.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ArborError } from "../../../src/errors.js";
import { fetchRemoteSummary } from "../../../src/pull/remote-summary.js";
import { commitTree } from "../../../src/repo/commit.js";
import { addRemote, getRemote } from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";
import { updateSummary } from "../../../src/repo/summary.js";
import { summaryCacheDir } from "../../../src/repo/summary-cache.js";
import { generateEd25519KeyPair } from "../../../src/sign/ed25519.js";
import { verifyPolicyFor } from "../../../src/sign/remote-verify.js";
import { MemoryFetcher } from "./_fetcher.js";

let dir: string;
let client: Repo;
let summary: Uint8Array;
let commit: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "arbor-remote-summary-"));
  const server = Repo.create(join(dir, "server"), { mode: "archive" });
  mkdirSync(join(dir, "t"));
  writeFileSync(join(dir, "t", "f"), "x");
  commit = (await commitTree(server, { trees: [{ kind: "dir", path: join(dir, "t") }], branch: "main" }))
    .commit;
  await updateSummary(server);
  summary = readFileSync(join(server.path, "summary"));
  client = Repo.create(join(dir, "client"), { mode: "bare-user" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function serve(sig: string | null): MemoryFetcher {
  const files = new Map<string, Uint8Array>([["summary", summary]]);
  if (sig !== null) files.set("summary.sig", Buffer.from(sig));
  return new MemoryFetcher(files);
}

describe("fetchRemoteSummary", () => {
  it("an unreadable summary.sig is ignored when nothing verifies the summary", async () => {
    addRemote(client, { name: "origin", url: "http://127.0.0.1:9/", options: [["gpg-verify", false]] });
    const policy = await verifyPolicyFor(getRemote(client, "origin"), { env: {} });
    const r = await fetchRemoteSummary(client, "origin", serve("garbage"), { policy });
    expect(r.sig).toBeNull();
    expect(r.summary?.refs.map((x) => `${x.ref}=${x.checksum}`)).toEqual([`main=${commit}`]);
  });

  it("an unreadable summary.sig fails a required verification with 'No signatures found'; nothing cached", async () => {
    const key = generateEd25519KeyPair();
    addRemote(client, {
      name: "origin",
      url: "http://127.0.0.1:9/",
      options: [
        ["gpg-verify", false],
        ["sign-verify-summary", true],
        ["verification-ed25519-key", key.public],
      ],
    });
    const policy = await verifyPolicyFor(getRemote(client, "origin"), { env: {} });
    const err = await fetchRemoteSummary(client, "origin", serve("garbage"), {
      cacheName: "origin",
      policy,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArborError);
    expect((err as ArborError).code).toBe("SIGNATURE_MISSING");
    expect((err as ArborError).message).toBe(
      'Summary of remote "origin": Can\'t verify summary: No signatures found',
    );
    expect(existsSync(join(summaryCacheDir(client), "origin"))).toBe(false);
  });

  it("caches summary and signature under cacheDir/summaries when given, else the repo's cache", async () => {
    addRemote(client, { name: "origin", url: "http://127.0.0.1:9/", options: [["gpg-verify", false]] });
    const other = join(dir, "cache");
    await fetchRemoteSummary(client, "origin", serve("garbage"), { cacheName: "origin", cacheDir: other });
    expect(readFileSync(join(other, "summaries", "origin"))).toEqual(Buffer.from(summary));
    expect(readFileSync(join(other, "summaries", "origin.sig"), "utf8")).toBe("garbage");
    expect(existsSync(join(summaryCacheDir(client), "origin"))).toBe(false);
    await fetchRemoteSummary(client, "origin", serve("garbage"), { cacheName: "origin" });
    expect(readFileSync(join(summaryCacheDir(client), "origin"))).toEqual(Buffer.from(summary));
  });
});
