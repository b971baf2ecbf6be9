/**
 * Remotes are interchangeable: the same `remote add` commands make byte-identical configs in
 * arbor and ostree; each tool lists, shows and deletes the other's remotes; keyrings imported
 * by one are read by the other. Needs `npm run build`.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, ok, ostree, tempDir } from "../helpers/cli.js";
import { type GpgHome, makeGpgHome } from "../unit/sign/_gpg.js";

let t: ReturnType<typeof tempDir>;
let g: GpgHome;

beforeAll(() => {
  t = tempDir("arbor-remote-interop-");
  g = makeGpgHome(t.dir);
}, 120_000);
afterAll(() => {
  g?.kill();
  t?.cleanup();
});

const ADDS: string[][] = [
  ["origin", "http://example.com/repo", "main", "other"],
  ["--no-gpg-verify", "--set=tls-permissive=true", "--contenturl=http://c/", "b", "http://b"],
  ["--no-sign-verify", "c", "http://c"],
  ["--collection-id=org.example.Os", "d", "http://d"],
  ["--set=gpg-verify-summary=true", "--set=branches=x;y;", "e", "file:///srv/repo"],
];

describe("remote config interop", () => {
  it("the same remote add commands write byte-identical configs", () => {
    const a = join(t.dir, "a");
    const o = join(t.dir, "o");
    ok(arbor(["init", `--repo=${a}`, "--mode=archive"]));
    ok(ostree(["init", `--repo=${o}`, "--mode=archive"]));
    for (const args of ADDS) {
      ok(arbor(["remote", "add", `--repo=${a}`, ...args]), `arbor remote add ${args.join(" ")}`);
      ok(ostree(["remote", "add", `--repo=${o}`, ...args]), `ostree remote add ${args.join(" ")}`);
    }
    expect(readFileSync(join(a, "config"), "utf8")).toBe(readFileSync(join(o, "config"), "utf8"));
    for (const extra of [["--if-not-exists"], ["--force"]]) {
      ok(arbor(["remote", "add", `--repo=${a}`, ...extra, "origin", "http://new"]));
      ok(ostree(["remote", "add", `--repo=${o}`, ...extra, "origin", "http://new"]));
      expect(readFileSync(join(a, "config"), "utf8")).toBe(readFileSync(join(o, "config"), "utf8"));
    }
    const dupA = arbor(["remote", "add", `--repo=${a}`, "origin", "http://x"]);
    const dupO = ostree(["remote", "add", `--repo=${o}`, "origin", "http://x"]);
    expect([dupA.code, dupA.stderr]).toEqual([dupO.code, dupO.stderr]);
  });

  it("each tool lists, shows and deletes the other's remotes", () => {
    const r = join(t.dir, "mixed");
    ok(ostree(["init", `--repo=${r}`, "--mode=bare-user"]));
    ok(ostree(["remote", "add", `--repo=${r}`, "--no-gpg-verify", "fromostree", "http://o.example/repo"]));
    ok(arbor(["remote", "add", `--repo=${r}`, "--no-gpg-verify", "fromarbor", "https://a.example/repo"]));
    for (const tool of [arbor, ostree]) {
      expect(ok(tool(["remote", "list", `--repo=${r}`]))).toBe("fromarbor\nfromostree");
      expect(ok(tool(["remote", "list", "-u", `--repo=${r}`]))).toBe(
        "fromarbor   https://a.example/repo\nfromostree  http://o.example/repo",
      );
      expect(ok(tool(["remote", "show-url", `--repo=${r}`, "fromostree"]))).toBe("http://o.example/repo");
    }
    ok(arbor(["remote", "delete", `--repo=${r}`, "fromostree"]));
    expect(ok(ostree(["remote", "list", `--repo=${r}`]))).toBe("fromarbor");
    ok(ostree(["remote", "delete", `--repo=${r}`, "fromarbor"]));
    expect(ok(arbor(["remote", "list", `--repo=${r}`]))).toBe("");
    const missA = arbor(["remote", "delete", `--repo=${r}`, "nope"]);
    const missO = ostree(["remote", "delete", `--repo=${r}`, "nope"]);
    expect([missA.code, missA.stderr]).toEqual([missO.code, missO.stderr]);
    expect(arbor(["remote", "delete", `--repo=${r}`, "--if-exists", "nope"]).code).toBe(0);
  });

  it("keyrings imported with arbor are listed by ostree, and the reverse", () => {
    const r = join(t.dir, "keys");
    ok(arbor(["init", `--repo=${r}`, "--mode=bare-user"]));
    ok(arbor(["remote", "add", `--repo=${r}`, "a", "http://a"]));
    ok(arbor(["remote", "add", `--repo=${r}`, "o", "http://o"]));
    const ring = join(t.dir, "good.gpg");
    writeFileSync(ring, g.exportKeys(g.good, g.other));
    expect(ok(arbor(["remote", "gpg-import", `--repo=${r}`, "-k", ring, "a"]))).toBe(
      'Imported 2 GPG keys to remote "a"',
    );
    expect(ok(arbor(["remote", "gpg-import", `--repo=${r}`, "-k", ring, "a"]))).toBe(
      'Imported 0 GPG keys to remote "a"',
    );
    const listed = ok(ostree(["remote", "gpg-list-keys", `--repo=${r}`, "a"]));
    expect(listed).toContain(g.good);
    expect(listed).toContain(g.other);
    expect(ok(ostree(["remote", "gpg-import", `--repo=${r}`, "-k", ring, "o", g.good]))).toBe(
      'Imported 1 GPG key to remote "o"',
    );
    // arbor reads ostree's keyring: import the rest on top and count only the new one
    expect(ok(arbor(["remote", "gpg-import", `--repo=${r}`, "-k", ring, "o"]))).toBe(
      'Imported 1 GPG key to remote "o"',
    );
    ok(arbor(["remote", "delete", `--repo=${r}`, "o"]));
    expect(() => readFileSync(join(r, "o.trustedkeys.gpg"))).toThrow();
  });
});
