/**
 * `arbor pull` from mirror lists and metalinks (as ostree's test-pull-mirrorlist and
 * test-pull-metalink), against nginx on 127.0.0.1; plus the remote states pull refuses and the
 * pulls that never need the summary. Every client repo must pass `ostree fsck`. Needs `npm run build`.
 */
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, ok, ostree, tempDir } from "../helpers/cli.js";
import { type RunningServer, startNginx } from "../helpers/nginx.js";

let t: ReturnType<typeof tempDir>;
let srv: RunningServer;
let www: string;
let rev: string;
let removed: string; // path (under the repo) of the object missing from mirror m1
let n = 0;

function client(url: string, extra: string[] = []): string {
  const repo = join(t.dir, `client-${n++}`);
  ok(arbor(["init", `--repo=${repo}`, "--mode=bare-user"]));
  ok(arbor(["remote", "add", `--repo=${repo}`, "--no-gpg-verify", ...extra, "origin", url]));
  return repo;
}

function pulled(repo: string): void {
  expect(ok(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(rev);
  ok(ostree(["fsck", `--repo=${repo}`]), "ostree fsck");
}

/** A metalink naming `summary` with the given size/hash and target URLs. */
function writeMetalink(o: { size?: number; sha512?: string; urls: string[] }): void {
  const summary = readFileSync(join(www, "repo/summary"));
  const sha256 = createHash("sha256").update(summary).digest("hex");
  const sha512 = o.sha512 ?? createHash("sha512").update(summary).digest("hex");
  const urls = o.urls.map(
    (u) => `<url protocol="http" type="http" location="US" preference="100">${u}</url>`,
  );
  writeFileSync(
    join(www, "metalink.xml"),
    `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/">
  <deeply><nested><unknown>hello</unknown></nested></deeply>
  <files>
    <file name="summary">
      <size>${o.size ?? summary.length}</size>
      <verification>
        <hash type="md5">${createHash("md5").update(summary).digest("hex")}</hash>
        <hash type="sha256">${sha256}</hash>
        <hash type="sha512">${sha512}</hash>
      </verification>
      <resources maxconnections="1">${urls.join("\n")}</resources>
    </file>
  </files>
</metalink>`,
  );
}

beforeAll(async () => {
  t = tempDir("arbor-e2e-mirrors-");
  www = join(t.dir, "www");
  const repo = join(www, "repo");
  const tree = join(t.dir, "tree");
  mkdirSync(join(tree, "d"), { recursive: true });
  writeFileSync(join(tree, "a"), "first file\n");
  writeFileSync(join(tree, "d/b"), "second file\n");
  ok(arbor(["init", `--repo=${repo}`, "--mode=archive"]));
  rev = ok(arbor(["commit", `--repo=${repo}`, "-b", "main", "-s", "x", tree]));
  ok(arbor(["summary", "-u", `--repo=${repo}`]));
  cpSync(repo, join(www, "m1"), { recursive: true });
  const dir = readdirSync(join(www, "m1/objects")).find((d) =>
    readdirSync(join(www, "m1/objects", d)).some((f) => f.endsWith(".filez")),
  )!;
  const file = readdirSync(join(www, "m1/objects", dir)).find((f) => f.endsWith(".filez"))!;
  removed = `objects/${dir}/${file}`;
  rmSync(join(www, "m1", removed));
  writeFileSync(join(www, "summary.bad"), "broken");
  srv = await startNginx({ root: www, dir: t.dir });
  writeFileSync(
    join(www, "mirrorlist"),
    `\n# comment with empty lines around\n\n${srv.url}/non-existent-repo\n\n${srv.url}/m1\n${srv.url}/repo\n`,
  );
}, 120_000);

afterAll(async () => {
  await srv?.stop();
  t?.cleanup();
});

describe("mirrorlist remotes", () => {
  it("url=mirrorlist=: a dead first mirror is dropped, a missing object comes from the next mirror", () => {
    const before = srv.requests().length;
    const repo = client(`mirrorlist=${srv.url}/mirrorlist`);
    ok(arbor(["pull", `--repo=${repo}`, "origin:main"]));
    pulled(repo);
    const reqs = srv.requests().slice(before);
    expect(reqs).toContain("/non-existent-repo/config");
    expect(reqs).toContain("/m1/config");
    expect(reqs).not.toContain("/repo/config"); // probing stops at the first working mirror
    expect(reqs).toContain(`/m1/${removed}`);
    expect(reqs).toContain(`/repo/${removed}`);
    expect(reqs).toContain("/m1/summary");
  });

  it("contenturl=mirrorlist= with a plain url, and both as mirror lists", () => {
    for (const url of [`${srv.url}/repo`, `mirrorlist=${srv.url}/mirrorlist`]) {
      const repo = client(url, [`--contenturl=mirrorlist=${srv.url}/mirrorlist`]);
      ok(arbor(["pull", `--repo=${repo}`, "origin:main"]));
      pulled(repo);
    }
  });

  it("a list with no working mirror, or no list at all, is a clear error", () => {
    writeFileSync(join(www, "deadlist"), `${srv.url}/nothing-here\nfile:///etc\n`);
    let r = arbor(["pull", `--repo=${client(`mirrorlist=${srv.url}/deadlist`)}`, "origin:main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`No valid mirrors were found in mirrorlist '${srv.url}/deadlist'`);
    r = arbor(["pull", `--repo=${client(`mirrorlist=${srv.url}/nolist`)}`, "origin:main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`While fetching mirrorlist '${srv.url}/nolist'`);
  });
});

describe("metalink remotes", () => {
  it("the summary comes from the first target matching size and hashes; objects from its directory", () => {
    writeMetalink({
      urls: [`${srv.url}/summary.bad`, `${srv.url}/repo/nosuchfile`, `${srv.url}/repo/summary`],
    });
    const repo = client(`metalink=${srv.url}/metalink.xml`);
    expect(readFileSync(join(repo, "config"), "utf8")).toContain(`metalink=${srv.url}/metalink.xml`);
    ok(arbor(["pull", `--repo=${repo}`, "origin:main"]));
    pulled(repo);
    expect(ok(arbor(["remote", "refs", `--repo=${repo}`, "origin"]))).toBe("origin:main");
  });

  it.each([
    [
      "a wrong sha512",
      { sha512: "0".repeat(128) },
      /Exhausted 3 metalink targets, last error: Expected checksum is 0{128} but actual is [0-9a-f]{128}/,
    ],
    ["a bad digest", { sha512: "bacon" }, /Invalid hash digest for sha512/],
    ["a wrong size", { size: 3 }, /last error: Expected size is 3 bytes but content is \d+ bytes/],
  ])("%s fails the pull, nothing is stored", (_what, o, msg) => {
    writeMetalink({
      ...o,
      urls: [`${srv.url}/summary.bad`, `${srv.url}/repo/nosuchfile`, `${srv.url}/repo/summary`],
    });
    const repo = client(`metalink=${srv.url}/metalink.xml`);
    const r = arbor(["pull", `--repo=${repo}`, "origin:main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(msg);
    expect(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]).code).not.toBe(0);
  });

  it("a malformed metalink is refused with the parser's position", () => {
    writeFileSync(join(www, "metalink.xml"), "bacon\n");
    const r = arbor(["pull", `--repo=${client(`metalink=${srv.url}/metalink.xml`)}`, "origin:main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("line 1 char 1: Document must begin with an element");
  });
});

describe("remotes pull refuses, and pulls without the summary", () => {
  it("unconfigured-state and custom-backend remotes are refused in ostree's words", () => {
    let repo = client(`${srv.url}/repo`, ["--set=unconfigured-state=Access requires ONE BILLION DOLLARS."]);
    let r = arbor(["pull", `--repo=${repo}`, "origin", "main"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("remote unconfigured-state: Access requires ONE BILLION DOLLARS.");
    repo = join(t.dir, `client-${n++}`);
    ok(arbor(["init", `--repo=${repo}`]));
    ok(arbor(["remote", "add", `--repo=${repo}`, "--custom-backend=ostree-rs-ext", "fromcontainer"]));
    r = arbor(["pull", `--repo=${repo}`, "fromcontainer"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("remote 'fromcontainer' uses custom backend 'ostree-rs-ext'");
    r = arbor(["remote", "show-url", `--repo=${repo}`, "fromcontainer"]);
    expect(r.stderr).toContain('No "url" option in remote');
    r = arbor(["remote", "add", `--repo=${repo}`, "nourl"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("NAME and URL must be specified");
  });

  it("REF@COMMIT from a remote with indexed deltas does not read the (broken) summary", () => {
    const good = readFileSync(join(www, "repo/summary"));
    writeFileSync(join(www, "repo/summary"), "broken");
    try {
      const repo = client(`${srv.url}/repo`);
      const r = arbor(["pull", `--repo=${repo}`, "origin", "main"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Not normal form");
      const before = srv.requests().length;
      ok(arbor(["pull", `--repo=${repo}`, "origin", `main@${rev}`]));
      pulled(repo);
      expect(srv.requests().slice(before)).not.toContain("/repo/summary");
    } finally {
      writeFileSync(join(www, "repo/summary"), good);
    }
  });
});

describe("file:// remotes", () => {
  it("commits are bound to the source repository's collection ID, not the remote's (as ostree); %-encoded paths", () => {
    const src = join(t.dir, "src with space");
    const tree = join(t.dir, "coll-tree");
    mkdirSync(tree, { recursive: true });
    writeFileSync(join(tree, "f"), "bound\n");
    ok(arbor(["init", `--repo=${src}`, "--mode=archive", "--collection-id=org.example.Src"]));
    const bound = ok(arbor(["commit", `--repo=${src}`, "-b", "main", "-s", "x", tree]));
    const url = `file://${src.replace(/ /g, "%20")}`;
    for (const tool of [arbor, ostree]) {
      const repo = join(t.dir, `client-${n++}`);
      ok(tool(["init", `--repo=${repo}`, "--mode=bare-user"]));
      ok(
        tool([
          "remote",
          "add",
          `--repo=${repo}`,
          "--no-gpg-verify",
          "--collection-id=org.example.Other",
          "origin",
          url,
        ]),
      );
      ok(tool(["pull", `--repo=${repo}`, "origin", "main"]), "pull");
      expect(ok(arbor(["rev-parse", `--repo=${repo}`, "origin:main"]))).toBe(bound);
    }
  });
});
