/** `config get|set|unset`: values, and argument errors worded (and helped) as ostree does. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cli, makeTmpDir } from "./_helpers.js";

let t: ReturnType<typeof makeTmpDir>;
let repo: string;
beforeEach(async () => {
  t = makeTmpDir("arbor-config-");
  repo = join(t.dir, "repo");
  expect((await cli(["init", `--repo=${repo}`, "--mode=bare"])).code).toBe(0);
});
afterEach(() => t.cleanup());

const config = (...a: string[]) => cli(["config", `--repo=${repo}`, ...a]);

describe("config", () => {
  it("gets, sets and unsets keys by SECTION.KEY (first dot) or --group", async () => {
    expect((await config("get", "core.mode")).out).toBe("bare\n");
    expect((await config("get", "--group=core", "repo_version")).out).toBe("1\n");
    expect((await config("set", 'remote "x".url', "http://h/")).code).toBe(0);
    expect((await config("set", "core.a.b", "c")).code).toBe(0);
    expect((await config("set", '--group=remote "x"', "xa.title", "T")).code).toBe(0);
    const text = readFileSync(join(repo, "config"), "utf8");
    expect(text).toContain('[remote "x"]\nurl=http://h/\nxa.title=T');
    expect(text).toContain("a.b=c");
    expect((await config("--", "set", "core.lock-timeout-secs", "-1")).code).toBe(0);
    expect((await config("get", "core.lock-timeout-secs")).out).toBe("-1\n");
    expect((await config("unset", "core.lock-timeout-secs")).code).toBe(0);
    expect((await config("unset", "core.lock-timeout-secs")).code).toBe(0); // idempotent
    expect((await config("unset", '--group=remote "none"', "k")).code).toBe(0); // no such group
  });

  it("names a missing key or group as ostree (GKeyFile) does", async () => {
    const k = await config("get", "core.nokey");
    expect(k.code).toBe(1);
    expect(k.err).toBe("error: Key file does not have key “nokey” in group “core”\n");
    const g = await config("get", "nogroup.k");
    expect(g.err).toBe("error: Key file does not have group “nogroup”\n");
  });

  const usage: Array<[string[], string, boolean]> = [
    [[], "OPERATION must be specified", true],
    [["get", "--group=core", "lock-timeout-secs", "extra"], "Too many arguments given", true],
    [["set", "--group=core", "k", "1", "extra"], "Too many arguments given", true],
    [["unset", "core.k", "extra"], "Too many arguments given", true],
    [["get"], "KEY must be specified", false],
    [["get", "--group=core"], "Group name and key must be specified", false],
    [["set", "a"], "KEY and VALUE must be specified", false],
    [["set", "--group=core", "a"], "GROUP name, KEY and VALUE must be specified", false],
    [["unset"], "KEY must be specified", false],
    [["get", "nodot"], 'Key must be of the form "sectionname.keyname"', false],
    [["frob", "a"], "Unknown operation frob", false],
  ];
  for (const [args, msg, help] of usage) {
    it(`config ${args.join(" ")}: "${msg}"${help ? " after the help" : ""}`, async () => {
      const r = await config(...args);
      expect(r.code).toBe(1);
      expect(r.err.endsWith(`error: ${msg}\n`)).toBe(true);
      expect(r.err.includes("Usage:")).toBe(help);
    });
  }
});
