import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import {
  addRemote,
  deleteRemote,
  getRemote,
  listRemotes,
  parseSignVerifySpec,
} from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";

let dir: string;
let repo: Repo;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-remotes-"));
  repo = Repo.create(join(dir, "repo"), { mode: "archive" });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("remotes", () => {
  it("addRemote() writes the group as ostree does: url, branches, options in order", () => {
    addRemote(repo, {
      name: "origin",
      url: "http://example.com/repo",
      options: [["branches", ["main", "other"]]],
    });
    addRemote(repo, {
      name: "b",
      url: "http://b",
      options: [
        ["contenturl", "http://c/"],
        ["tls-permissive", "true"],
        ["gpg-verify", false],
      ],
    });
    const text = readFileSync(join(repo.path, "config"), "utf8");
    expect(text).toBe(
      '[core]\nrepo_version=1\nmode=archive-z2\n\n[remote "origin"]\nurl=http://example.com/repo\nbranches=main;other;\n\n[remote "b"]\nurl=http://b\ncontenturl=http://c/\ntls-permissive=true\ngpg-verify=false\n',
    );
    expect(listRemotes(repo)).toEqual(["b", "origin"]);
    expect(getRemote(repo, "origin").getList("branches")).toEqual(["main", "other"]);
    expect(getRemote(repo, "b").gpgVerify).toBe(false);
    expect(getRemote(repo, "origin").gpgVerify).toBe(true);
  });

  it("addRemote() refuses a duplicate unless if-not-exists or replace", () => {
    addRemote(repo, { name: "o", url: "http://a" });
    expect(() => addRemote(repo, { name: "o", url: "http://b" })).toThrow(
      'Remote configuration for "o" already exists: (in config)',
    );
    expect(addRemote(repo, { name: "o", url: "http://b", mode: "if-not-exists" })).toBe(false);
    expect(getRemote(repo, "o").url).toBe("http://a");
    addRemote(repo, { name: "o", url: "http://c", mode: "replace", options: [["gpg-verify", false]] });
    expect(getRemote(repo, "o").url).toBe("http://c");
    expect(getRemote(repo, "o").keys()).toEqual(["url", "gpg-verify"]);
  });

  it("addRemote() rejects a bad remote name", () => {
    expect(() => addRemote(repo, { name: "a/b", url: "http://x" })).toThrow(/Invalid remote name/);
  });

  it("metalink= URLs are stored under the metalink key", () => {
    addRemote(repo, { name: "m", url: "metalink=http://x/metalink.xml" });
    expect(repo.config.get('remote "m"', "metalink")).toBe("http://x/metalink.xml");
    expect(getRemote(repo, "m").url).toBe("metalink=http://x/metalink.xml");
  });

  it("deleteRemote() removes the group and its keyring; --if-exists tolerates absence", () => {
    addRemote(repo, { name: "o", url: "http://a" });
    writeFileSync(join(repo.path, "o.trustedkeys.gpg"), "x");
    expect(deleteRemote(repo, "o")).toBe(true);
    expect(listRemotes(repo)).toEqual([]);
    expect(() => readFileSync(join(repo.path, "o.trustedkeys.gpg"))).toThrow();
    expect(() => deleteRemote(repo, "o")).toThrow('Remote "o" not found');
    expect(deleteRemote(repo, "o", { ifExists: true })).toBe(false);
  });

  it("reads remotes.d for system repos and writes new remotes there", () => {
    const rd = join(dir, "remotes.d");
    mkdirSync(rd);
    writeFileSync(join(rd, "sys.conf"), '[remote "sys"]\nurl=http://sys\n');
    writeFileSync(join(rd, "ignored.txt"), '[remote "nope"]\nurl=http://nope\n');
    expect(listRemotes(repo, { remotesDir: rd })).toEqual(["sys"]);
    addRemote(repo, { name: "new", url: "http://new", remotesDir: rd });
    expect(readFileSync(join(rd, "new.conf"), "utf8")).toBe('[remote "new"]\nurl=http://new\n');
    deleteRemote(repo, "sys", { remotesDir: rd });
    expect(listRemotes(repo, { remotesDir: rd })).toEqual(["new"]);
  });

  it("a remote defined twice is a configuration error", () => {
    const rd = join(dir, "remotes.d");
    mkdirSync(rd);
    addRemote(repo, { name: "dup", url: "http://a" });
    writeFileSync(join(rd, "dup.conf"), '[remote "dup"]\nurl=http://b\n');
    expect(() => listRemotes(repo, { remotesDir: rd })).toThrow(
      'Multiple specifications found for remote "dup"',
    );
  });

  it("parseSignVerifySpec() maps inline/file keys to verification-ed25519-*", () => {
    expect(parseSignVerifySpec("ed25519=inline:AAAA")).toEqual({
      type: "ed25519",
      option: ["verification-ed25519-key", "AAAA"],
    });
    expect(parseSignVerifySpec("ed25519=file:/k")).toEqual({
      type: "ed25519",
      option: ["verification-ed25519-file", "/k"],
    });
    expect(() => parseSignVerifySpec("ed25519")).toThrow(/Failed to parse KEYTYPE/);
    expect(() => parseSignVerifySpec("ed25519=x:y")).toThrow(/Invalid key reference/);
    try {
      parseSignVerifySpec("foo=inline:x");
    } catch (e) {
      expect(isArborError(e, "UNSUPPORTED")).toBe(true);
    }
  });

  it("a remote without url reports it", () => {
    repo.config.set('remote "x"', "gpg-verify", "false");
    repo.saveConfig();
    expect(() => getRemote(repo, "x").url).toThrow('No "url" option in remote "x"');
  });
});
