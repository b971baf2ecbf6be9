import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addRemote } from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";
import { keyringFor, splitGpgkeypath } from "../../../src/sign/gpg-keyrings.js";

let dir: string;
let repo: Repo;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-keyrings-"));
  repo = Repo.create(join(dir, "repo"), { mode: "archive" });
  mkdirSync(join(dir, "keys"));
  writeFileSync(join(dir, "keys", "not-a-key.asc"), "garbage\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const withPath = (name: string, gpgkeypath: string) => {
  addRemote(repo, { name, url: "http://127.0.0.1:9/", options: [["gpgkeypath", gpgkeypath]] });
  return keyringFor(repo, name, { env: {} });
};

describe("gpgkeypath", () => {
  it("splitGpgkeypath() splits on one separator; a trailing one adds no entry, others make empty entries", async () => {
    expect(splitGpgkeypath("")).toEqual([]);
    expect(splitGpgkeypath("a,b")).toEqual(["a", "b"]);
    expect(splitGpgkeypath("a;b;")).toEqual(["a", "b"]);
    expect(splitGpgkeypath(",a")).toEqual(["", "a"]);
    expect(splitGpgkeypath("a;;b")).toEqual(["a", "", "b"]);
    expect(() => splitGpgkeypath("a,b;c")).toThrow("key value list contains more than one separator");
  });

  it("reads existing files and directories (unparsable keys are skipped)", async () => {
    const k = await withPath("ok", `${join(dir, "keys")}/,${join(dir, "keys", "not-a-key.asc")},`);
    expect(k.keys).toEqual([]);
  });

  it("fails on a missing entry or an empty one, in ostree's words", async () => {
    const missing = join(dir, "keys", "INVALIDKEYDIRPATH/");
    await expect(withPath("missing", `${join(dir, "keys")},${missing}`)).rejects.toThrow(
      `opendir(${missing}): No such file or directory`,
    );
    await expect(withPath("empty", `,${join(dir, "keys")}`)).rejects.toThrow(
      "opendir(): No such file or directory",
    );
    await expect(withPath("mixed", "a,b;c")).rejects.toMatchObject({ code: "BAD_CONFIG" });
  });
});
