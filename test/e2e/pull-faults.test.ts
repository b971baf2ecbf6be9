/**
 * Pulls against a server on 127.0.0.1 that misbehaves on purpose. Each fault ends in either a
 * successful retry or a clear error naming what failed — and in every case the client repository
 * passes `ostree fsck`, no ref moved on failure, and nothing unverified was stored.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { isArborError } from "../../src/errors.js";
import { pull } from "../../src/pull/pull.js";
import { addRemote } from "../../src/repo/remotes.js";
import { Repo } from "../../src/repo/repo.js";
import { arbor, ok, ostree, tempDir } from "../helpers/cli.js";
import { type FaultAction, type FaultServer, startFaultServer } from "../helpers/nginx.js";

let t: ReturnType<typeof tempDir>;
let src: string;
let main: string;
let bigPath = "";
let dirtreePath = "";
let n = 0;

/** Fresh client repo + fault server; returns both. */
async function setup(
  decide: (path: string, n: number) => FaultAction,
): Promise<{ repo: Repo; srv: FaultServer }> {
  const srv = await startFaultServer({ root: src, decide });
  const repo = Repo.create(join(t.dir, `client${n++}`), { mode: "bare-user" });
  addRemote(repo, { name: "origin", url: srv.url, options: [["gpg-verify", false]] });
  servers.push(srv);
  return { repo, srv };
}
const servers: FaultServer[] = [];

const fast = { retry: { baseDelayMs: 5, maxDelayMs: 20 }, timeoutMs: 2000 } as const;

function assertClean(repo: Repo, refMoved: boolean): void {
  const f = ostree(["fsck", `--repo=${repo.path}`]);
  expect(f.code, `ostree fsck: ${f.stdout}${f.stderr}`).toBe(0);
  const r = arbor(["rev-parse", `--repo=${repo.path}`, "origin:main"]);
  expect(r.code === 0).toBe(refMoved);
  // nothing left in staging
  const tmp = readdirSync(join(repo.path, "tmp")).filter((x) => x.startsWith("staging-"));
  expect(tmp).toEqual([]);
}

async function expectError(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isArborError(e), String(e)).toBe(true);
    expect((e as { code: string }).code).toBe(code);
    expect((e as Error).message).toMatch(re);
    return;
  }
  throw new Error("expected the pull to fail");
}

beforeAll(() => {
  t = tempDir("arbor-pull-faults-");
  src = join(t.dir, "src");
  const tree = join(t.dir, "tree");
  mkdirSync(join(tree, "d"), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(tree, "d", `f${i}`), `file ${i}\n`.repeat(i + 1));
  // incompressible, so the .filez is large and streamed
  writeFileSync(join(tree, "big"), randomBytes(1536 * 1024));
  ok(arbor(["init", `--repo=${src}`, "--mode=archive"]));
  main = ok(arbor(["commit", `--repo=${src}`, "-b", "main", "-s", "m", tree]));
  ok(arbor(["summary", "-u", `--repo=${src}`]));
  // find the big object's path and the subdir's dirtree path on the server
  const objs = join(src, "objects");
  let biggest = 0;
  for (const d of readdirSync(objs)) {
    for (const f of readdirSync(join(objs, d))) {
      const p = `/objects/${d}/${f}`;
      const size = statSync(join(objs, d, f)).size;
      if (f.endsWith(".filez") && size > biggest) {
        biggest = size;
        bigPath = p;
      }
    }
  }
  const ls = ok(arbor(["ls", `--repo=${src}`, "-C", "-d", "main", "/d"]));
  const cs = ls.trim().split(/\s+/)[4]!;
  dirtreePath = `/objects/${cs.slice(0, 2)}/${cs.slice(2)}.dirtree`;
}, 120_000);

afterAll(async () => {
  for (const s of servers) await s.stop();
  t?.cleanup();
});

beforeEach(() => {
  expect(bigPath).toMatch(/\.filez$/);
});

describe("pull faults", () => {
  it("connection dropped mid-object: retried, succeeds", async () => {
    const { repo, srv } = await setup((p, k) =>
      p === bigPath && k === 1 ? { kind: "drop", after: 200_000 } : { kind: "serve" },
    );
    await pull(repo, { remote: "origin", refs: ["main"], ...fast });
    expect(srv.counts.get(bigPath)).toBe(2);
    assertClean(repo, true);
  });

  it("connection dropped every time: a clear network error after the retries", async () => {
    const { repo, srv } = await setup((p) =>
      p === bigPath ? { kind: "drop", after: 100_000 } : { kind: "serve" },
    );
    const hash = bigPath.replace(/^\/objects\/(..)\/(.*)\.filez$/, "$1$2");
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], networkRetries: 2, ...fast }),
      "NETWORK",
      new RegExp(`content object ${hash}.*after 3 attempts`),
    );
    expect(srv.counts.get(bigPath)).toBe(3);
    assertClean(repo, false);
  });

  it("a corrupted content object is refused, naming it", async () => {
    const { repo } = await setup((p) => (p === bigPath ? { kind: "corrupt" } : { kind: "serve" }));
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], ...fast }),
      "OBJECT_CORRUPT",
      /Corrupted content object [0-9a-f]{64}/,
    );
    assertClean(repo, false);
    expect(existsSync(repo.objectPath(bigPath.slice(9, 11) + bigPath.slice(12, 74), "file"))).toBe(false);
  });

  it("a corrupted metadata object is refused, naming it", async () => {
    const { repo } = await setup((p) => (p === dirtreePath ? { kind: "corrupt" } : { kind: "serve" }));
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], ...fast }),
      "OBJECT_CORRUPT",
      /Corrupted dirtree object; checksum expected='[0-9a-f]{64}' actual='[0-9a-f]{64}'|Invalid dirtree/,
    );
    assertClean(repo, false);
  });

  it("a truncated object (short Content-Length) is refused", async () => {
    const { repo } = await setup((p) =>
      p === bigPath ? { kind: "truncate", bytes: 300_000 } : { kind: "serve" },
    );
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], ...fast }),
      "OBJECT_CORRUPT",
      /Corrupted content object/,
    );
    assertClean(repo, false);
  });

  it("404 for an object: not found, naming the URL", async () => {
    const { repo } = await setup((p) =>
      p === dirtreePath ? { kind: "status", code: 404 } : { kind: "serve" },
    );
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], ...fast }),
      "NOT_FOUND",
      new RegExp(`${dirtreePath.replace(/\./g, "\\.")}: Server returned HTTP 404`),
    );
    assertClean(repo, false);
  });

  it("500s then success: retried with backoff", async () => {
    const { repo, srv } = await setup((p, k) =>
      p === bigPath && k <= 3 ? { kind: "status", code: 500 } : { kind: "serve" },
    );
    await pull(repo, { remote: "origin", refs: ["main"], ...fast });
    expect(srv.counts.get(bigPath)).toBe(4);
    assertClean(repo, true);
  });

  it("500 forever: fails after --network-retries", async () => {
    const { repo, srv } = await setup((p) =>
      p === dirtreePath ? { kind: "status", code: 503 } : { kind: "serve" },
    );
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], networkRetries: 1, ...fast }),
      "NETWORK",
      /Server returned HTTP 503 \(after 2 attempts\)/,
    );
    expect(srv.counts.get(dirtreePath)).toBe(2);
    assertClean(repo, false);
  });

  it("a very slow server: timeouts retried, then success", async () => {
    const { repo, srv } = await setup((p, k) =>
      p === bigPath && k <= 2 ? { kind: "stall", ms: 1500 } : { kind: "serve" },
    );
    await pull(repo, { remote: "origin", refs: ["main"], retry: fast.retry, timeoutMs: 500 });
    expect(srv.counts.get(bigPath)).toBe(3);
    assertClean(repo, true);
  });

  it("a server that never answers: a timeout error", async () => {
    const { repo } = await setup((p) => (p === bigPath ? { kind: "stall", ms: 3000 } : { kind: "serve" }));
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], retry: fast.retry, timeoutMs: 300, networkRetries: 1 }),
      "NETWORK",
      /timeout|Timeout/,
    );
    assertClean(repo, false);
  });

  it("a summary listing a ref whose commit is missing", async () => {
    const commitPath = `/objects/${main.slice(0, 2)}/${main.slice(2)}.commit`;
    const { repo } = await setup((p) =>
      p === commitPath ? { kind: "status", code: 404 } : { kind: "serve" },
    );
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], ...fast }),
      "NOT_FOUND",
      new RegExp(`${main.slice(2)}\\.commit: Server returned HTTP 404`),
    );
    assertClean(repo, false);
  });

  it("a server sending more bytes than an object can hold is cut off", async () => {
    const { repo } = await setup((p) =>
      p === bigPath ? { kind: "oversize", extra: 4 * 1024 * 1024 } : { kind: "serve" },
    );
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], ...fast }),
      "OBJECT_CORRUPT",
      /more than the \d+ bytes the object can hold/,
    );
    assertClean(repo, false);
  });

  it("a server that always drops half-way: downloads resume with Range requests and complete", async () => {
    const { startTrivialHttpd } = await import("../../src/pull/trivial-httpd.js");
    const httpd = await startTrivialHttpd({ root: src, host: "127.0.0.1", forceRangeRequests: true });
    try {
      const repo = Repo.create(join(t.dir, `client${n++}`), { mode: "bare-user" });
      addRemote(repo, {
        name: "origin",
        url: `http://127.0.0.1:${httpd.port}`,
        options: [["gpg-verify", false]],
      });
      await pull(repo, { remote: "origin", refs: ["main"], ...fast });
      assertClean(repo, true);
      expect(readdirSync(join(repo.path, "tmp")).filter((x) => x.startsWith("arbor-partial-"))).toEqual([]);
    } finally {
      await httpd.close();
    }
  });

  it("an oversized metadata object is refused too", async () => {
    const { repo } = await setup((p) =>
      p === dirtreePath ? { kind: "oversize", extra: 4096 } : { kind: "serve" },
    );
    await expectError(
      pull(repo, { remote: "origin", refs: ["main"], ...fast }),
      "OBJECT_CORRUPT",
      /Corrupted dirtree object; checksum expected='[0-9a-f]{64}'/,
    );
    assertClean(repo, false);
  });
});
