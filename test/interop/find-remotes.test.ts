/**
 * `find-remotes` and collection mirror pulls, arbor against the real ostree on the same setup:
 * two collection repositories made and GPG-signed by ostree (one served by nginx, one file://),
 * client repositories configured identically by ostree; each tool runs on its own copy and the
 * outputs, refs and exit codes are compared.
 * Needs `npm run build` (drives bin/arbor).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, type RunResult, tempDir } from "../helpers/cli.js";
import { type RunningServer, startNginx } from "../helpers/nginx.js";
import { type GpgHome, makeGpgHome } from "../unit/sign/_gpg.js";

const APPS = "org.example.AppsCollection";
const OS = "org.example.OsCollection";
let dir: string;
let cleanup: () => void;
let g: GpgHome;
let srv: RunningServer;
let keyring: string;
let otherKeyring: string;
const sums: Record<string, string> = {};

const O = (args: string[]): string => ok(ostree(args), `ostree ${args.join(" ")}`);
const tools = { ostree, arbor } as const;
type Tool = keyof typeof tools;

function commit(repo: string, branch: string, subject: string, key: string): string {
  return O([
    "commit",
    `--repo=${join(dir, repo)}`,
    "-b",
    branch,
    "-s",
    subject,
    `--gpg-sign=${key}`,
    `--gpg-homedir=${g.home}`,
    join(dir, "tree"),
  ]);
}
function summary(repo: string, key: string | null = g.good): void {
  O([
    "summary",
    "-u",
    `--repo=${join(dir, repo)}`,
    ...(key ? [`--gpg-sign=${key}`, `--gpg-homedir=${g.home}`] : []),
  ]);
}

/**
 * A client repository configured by ostree, copied for each tool (`NAME-ostree`, `NAME-arbor`).
 * `remotes`: name → [url, collection ID, keyring, extra `remote add` options].
 */
function clients(
  name: string,
  remotes: Record<string, [string, string, string, ...string[]]>,
): Record<Tool, string> {
  const base = join(dir, `${name}-base`);
  O(["init", `--repo=${base}`, "--mode=bare-user"]);
  for (const [r, [url, cid, kr, ...extra]] of Object.entries(remotes))
    O(["remote", "add", `--repo=${base}`, `--collection-id=${cid}`, `--gpg-import=${kr}`, ...extra, r, url]);
  const out = { ostree: join(dir, `${name}-ostree`), arbor: join(dir, `${name}-arbor`) };
  for (const p of Object.values(out)) cpSync(base, p, { recursive: true });
  return out;
}

/** Run the same command with each tool on its own copy. */
function both(repos: Record<Tool, string>, args: string[]): Record<Tool, RunResult> {
  return {
    ostree: ostree([`--repo=${repos.ostree}`, ...args]),
    arbor: arbor([`--repo=${repos.arbor}`, ...args]),
  };
}
function expectSame(r: Record<Tool, RunResult>): RunResult {
  expect(r.arbor.stdout).toBe(r.ostree.stdout);
  expect(r.arbor.code).toBe(r.ostree.code);
  return r.arbor;
}
function refsOf(tool: Tool, repo: string, ...extra: string[]): string {
  return ok(tools[tool]([`--repo=${repo}`, "refs", ...extra]))
    .split("\n")
    .filter(Boolean)
    .sort()
    .join("\n");
}

beforeAll(async () => {
  ({ dir, cleanup } = tempDir("arbor-findremotes-"));
  g = makeGpgHome(dir);
  keyring = join(dir, "good.gpg");
  writeFileSync(keyring, g.exportKeys(g.good));
  otherKeyring = join(dir, "other.gpg");
  writeFileSync(otherKeyring, g.exportKeys(g.other));
  mkdirSync(join(dir, "tree/usr"), { recursive: true });
  writeFileSync(join(dir, "tree/usr/file"), "content\n");
  O(["init", `--repo=${join(dir, "apps")}`, "--mode=archive", `--collection-id=${APPS}`]);
  sums.app1 = commit("apps", "app1", "app1", g.good);
  sums.app2 = commit("apps", "app2", "app2", g.good);
  summary("apps");
  O(["init", `--repo=${join(dir, "os")}`, "--mode=archive", `--collection-id=${OS}`]);
  sums.os1 = commit("os", "os/main", "os 1", g.good);
  summary("os");
  srv = await startNginx({ root: join(dir, "os"), dir: join(dir, "nginx") });
}, 120_000);

afterAll(async () => {
  await srv?.stop();
  g?.kill();
  cleanup?.();
});

const standard = (): Record<string, [string, string, string]> => ({
  "apps-remote": [`file://${join(dir, "apps")}`, APPS, keyring],
  "os-remote": [srv.url, OS, keyring],
});

describe.skipIf(!hasOstree)("find-remotes, as ostree prints it", () => {
  it("one ref, several refs, refs not found, nothing found", () => {
    const c = clients("find", standard());
    const one = expectSame(both(c, ["find-remotes", "--finders=config", APPS, "app1"]));
    expect(one.stdout).toContain(
      `Result 0: file://${join(dir, "apps")}\n - Finder: OstreeRepoFinderConfig\n`,
    );
    expect(one.stdout).toContain(` - Keyring: apps-remote.trustedkeys.gpg\n - Priority: 100\n`);
    expect(one.stdout).toContain(`    - (${APPS}, app1) = ${sums.app1}\n`);
    expect(one.stdout).toMatch(/1\/1 refs were found\.\n$/);
    const many = expectSame(
      both(c, ["find-remotes", APPS, "app1", APPS, "app2", OS, "os/main", APPS, "not-an-app", OS, "nope"]),
    );
    // both remotes have refs; their order is ostree's (older summary first, and when both were
    // written in the same second, fewer refs found first), which expectSame already compared
    expect(many.stdout).toMatch(new RegExp(`^Result [01]: ${srv.url}$`, "m"));
    expect(many.stdout).toMatch(new RegExp(`^Result [01]: file://${join(dir, "apps")}$`, "m"));
    expect(many.stdout).toContain(`    - (${OS}, os/main) = ${sums.os1}\n`);
    expect(many.stdout).toContain(`    - (${APPS}, not-an-app) = (not found)\n`);
    expect(many.stdout).toContain(
      `3/5 refs were found.\nRefs not found in any remote:\n - (${APPS}, not-an-app)\n`,
    );
    const none = expectSame(both(c, ["find-remotes", "org.example.Nobody", "app1"]));
    expect(none.stdout).toBe("No results.\n");
    const json = JSON.parse(
      ok(arbor([`--repo=${c.arbor}`, "find-remotes", "--json", APPS, "app1", APPS, "zz"])),
    );
    expect(json).toMatchObject({
      apiVersion: "arbor/v1",
      kind: "FindRemotes",
      notFound: [{ collectionId: APPS, ref: "zz" }],
    });
    expect(json.results).toHaveLength(1);
    expect(json.results[0]).toMatchObject({
      remote: "apps-remote",
      keyring: "apps-remote.trustedkeys.gpg",
      priority: 100,
    });
    expect(json.results[0].refs).toContainEqual({ collectionId: APPS, ref: "app1", checksum: sums.app1 });
  });

  it("an outdated remote is left out; remotes serving the same commit are both listed", () => {
    // a second archive repo mirroring the OS collection, served file://
    const mirror = join(dir, "os-mirror");
    O(["init", `--repo=${mirror}`, "--mode=archive"]);
    O([
      "remote",
      "add",
      `--repo=${mirror}`,
      `--collection-id=${OS}`,
      `--gpg-import=${keyring}`,
      "os-remote",
      srv.url,
    ]);
    O(["pull", `--repo=${mirror}`, "--mirror", "os-remote", "os/main"]);
    summary("os-mirror", null);
    const c = clients("dup", { ...standard(), "os-mirror": [`file://${mirror}`, OS, keyring] });
    const same = expectSame(both(c, ["find-remotes", OS, "os/main"]));
    expect(same.stdout).toContain(`file://${mirror}`);
    expect(same.stdout.match(new RegExp(sums.os1!, "g"))).toHaveLength(2);
    // a new commit upstream: the mirror is outdated
    const os2 = commit("os", "os/main", "os 2", g.good);
    summary("os");
    const c2 = clients("dup2", { ...standard(), "os-mirror": [`file://${mirror}`, OS, keyring] });
    const newer = expectSame(both(c2, ["find-remotes", OS, "os/main"]));
    expect(newer.stdout).not.toContain(`file://${mirror}`);
    expect(newer.stdout).toContain(`= ${os2}`);
    sums.os1 = os2;
    const pulled = expectSame(both(c2, ["find-remotes", "--pull", OS, "os/main"]));
    expect(pulled.stdout).toMatch(/Pulled 1\/1 refs successfully\.\n$/);
    for (const t of ["ostree", "arbor"] as const)
      expect(ok(ostree(["rev-parse", `--repo=${c2[t]}`, "os-remote:os/main"]))).toBe(os2);
  });

  it("--pull moves the same refs to the same commits; --pull --mirror writes refs/mirrors", () => {
    const c = clients("pull", standard());
    const r = expectSame(
      both(c, ["find-remotes", "--pull", APPS, "app1", APPS, "app2", OS, "os/main", APPS, "x"]),
    );
    expect(r.stdout).toMatch(/3\/4 refs were found\.\n.*\n.*\nPulled 4\/4 refs successfully\.\n$/);
    expect(refsOf("arbor", c.arbor)).toBe(refsOf("ostree", c.ostree));
    expect(refsOf("ostree", c.arbor)).toBe("apps-remote:app1\napps-remote:app2\nos-remote:os/main");
    for (const t of ["ostree", "arbor"] as const) ok(ostree(["fsck", `--repo=${c[t]}`]));

    const m = clients("pullmirror", standard());
    expectSame(both(m, ["find-remotes", "--pull", "--mirror", APPS, "app1", OS, "os/main"]));
    expect(refsOf("ostree", m.arbor)).toBe("");
    expect(refsOf("ostree", m.arbor, "--collections")).toBe(refsOf("ostree", m.ostree, "--collections"));
    expect(refsOf("arbor", m.arbor, "--collections")).toBe(`(${APPS}, app1)\n(${OS}, os/main)`);
    expect(readFileSync(join(m.arbor, "refs/mirrors", APPS, "app1"), "utf8")).toBe(`${sums.app1}\n`);
  });

  it("pull --mirror from a collection remote writes refs/mirrors; plain pull writes refs/remotes", () => {
    const c = clients("mirror", standard());
    for (const t of ["ostree", "arbor"] as const) {
      ok(tools[t]([`--repo=${c[t]}`, "pull", "--mirror", "apps-remote", "app1"]));
      ok(tools[t]([`--repo=${c[t]}`, "pull", "--mirror", "os-remote"]));
      ok(tools[t]([`--repo=${c[t]}`, "pull", "apps-remote", "app2"]));
    }
    expect(refsOf("ostree", c.arbor)).toBe("apps-remote:app2");
    expect(refsOf("ostree", c.arbor, "--collections")).toBe(refsOf("ostree", c.ostree, "--collections"));
    expect(refsOf("arbor", c.arbor, "--collections")).toBe(refsOf("ostree", c.ostree, "--collections"));
    expect(existsSync(join(c.arbor, "refs/mirrors", OS, "os/main"))).toBe(true);
    expect(existsSync(join(c.arbor, "refs/heads/app1"))).toBe(false);

    // the repository's own collection: refs/heads
    const own = clients("own", standard());
    for (const t of ["ostree", "arbor"] as const) {
      O(["config", `--repo=${own[t]}`, "set", "core.collection-id", APPS]);
      ok(tools[t]([`--repo=${own[t]}`, "pull", "--mirror", "apps-remote", "app1"]));
    }
    expect(refsOf("ostree", own.arbor)).toBe("app1");
    expect(refsOf("ostree", own.ostree)).toBe("app1");

    // no collection-id configured: the summary's collection ID still decides (as ostree)
    const plain = { ostree: join(dir, "plain-ostree"), arbor: join(dir, "plain-arbor") };
    for (const t of ["ostree", "arbor"] as const) {
      O(["init", `--repo=${plain[t]}`, "--mode=bare-user"]);
      O(["remote", "add", `--repo=${plain[t]}`, "--no-gpg-verify", "apps", `file://${join(dir, "apps")}`]);
      ok(tools[t]([`--repo=${plain[t]}`, "pull", "--mirror", "apps", "app2"]));
    }
    expect(refsOf("ostree", plain.arbor, "--collections")).toBe(`(${APPS}, app2)`);
    expect(refsOf("ostree", plain.ostree, "--collections")).toBe(`(${APPS}, app2)`);
  });
});

describe.skipIf(!hasOstree)("find-remotes: bad input and broken remotes", () => {
  it("usage errors and invalid names: ostree's message and exit code", () => {
    const c = clients("bad", standard());
    const cases: string[][] = [
      [],
      [APPS],
      [APPS, "app1", OS],
      ["--mirror", APPS, "app1"],
      ["nodots", "app1"],
      [APPS, "bad^ref"],
      ["--finders=", APPS, "app1"],
      ["--finders=config,foo", APPS, "app1"],
      ["--finders=config,config", APPS, "app1"],
    ];
    for (const args of cases) {
      const r = both(c, ["find-remotes", ...args]);
      expect(r.arbor.code, args.join(" ")).toBe(1);
      expect(r.ostree.code, args.join(" ")).toBe(1);
      const last = (s: string): string => s.trim().split("\n").pop()!;
      expect(last(r.arbor.stderr), args.join(" ")).toBe(last(r.ostree.stderr));
    }
  });

  it("the lan and mount finders are refused, naming the finder", () => {
    const c = clients("finders", standard());
    for (const f of ["mount", "lan", "config,mount"]) {
      const r = arbor([`--repo=${c.arbor}`, "find-remotes", `--finders=${f}`, APPS, "app1"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/Cannot use repo finder "(mount|lan)": not implemented by arbor/);
    }
  });

  it("a remote whose summary is missing or badly signed is ignored, as ostree does", () => {
    const nosum = join(dir, "nosum");
    O(["init", `--repo=${nosum}`, "--mode=archive", `--collection-id=${APPS}`]);
    commit("nosum", "app1", "x", g.good);
    const c = clients("broken", {
      "bad-sig": [`file://${join(dir, "apps")}`, APPS, otherKeyring, "--set=gpg-verify-summary=true"],
      "no-summary": [`file://${nosum}`, APPS, keyring],
    });
    const r = expectSame(both(c, ["find-remotes", APPS, "app1"]));
    expect(r.stdout).toBe("No results.\n");
    expect(r.stderr).toMatch(/Ignoring remote "bad-sig": .*signature/i);
    expect(r.stderr).toMatch(/Ignoring remote "no-summary": .*no summary/i);
  });

  it("--pull from a remote whose commits are signed by an unknown key fails as ostree does", () => {
    const c = clients("badcommit", { "apps-remote": [`file://${join(dir, "apps")}`, APPS, otherKeyring] });
    const r = expectSame(both(c, ["find-remotes", "--pull", APPS, "app1"]));
    expect(r.code).toBe(1);
    const msg = `error: Failed to pull some refs from the remotes: (${APPS}, app1)`;
    expect(r.stderr.trim().split("\n").pop()).toBe(msg);
    expect(ostree([`--repo=${c.ostree}`, "find-remotes", "--pull", APPS, "app1"]).stderr).toContain(msg);
    expect(refsOf("ostree", c.arbor)).toBe("");
  });
});
