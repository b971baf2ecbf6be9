import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commandKey } from "../../../src/cli/compile-cache.js";
import { tempDir } from "../../helpers/cli.js";

// A made-up module tree laid out as dist-cjs/ is: commands, and groups of them in folders.
let t: ReturnType<typeof tempDir>;
beforeAll(() => {
  t = tempDir("arbor-compile-cache-");
  const commands = join(t.dir, "cli", "commands");
  mkdirSync(join(commands, "admin", "layer"), { recursive: true });
  for (const f of ["pull.js", "rev-parse.js", "admin/status.js", "admin/layer/add.js", "admin/common.js"])
    writeFileSync(join(commands, f), "");
  // a command that is also a group (`admin drift`, `admin drift capture`)
  mkdirSync(join(commands, "admin", "drift"));
  writeFileSync(join(commands, "admin", "drift.js"), "");
  writeFileSync(join(commands, "admin", "drift", "capture.js"), "");
});
afterAll(() => t.cleanup());

describe("commandKey(): one cache folder per command", () => {
  it("names a command by its words as the modules are laid out", () => {
    expect(commandKey(t.dir, ["pull", "--repo=r", "origin", "main"])).toBe("pull");
    expect(commandKey(t.dir, ["pull", "origin", "main"])).toBe("pull");
    expect(commandKey(t.dir, ["rev-parse", "main"])).toBe("rev-parse");
    expect(commandKey(t.dir, ["admin", "status"])).toBe("admin.status");
    expect(commandKey(t.dir, ["admin", "layer", "add", "x", "/src"])).toBe("admin.layer.add");
    expect(commandKey(t.dir, ["admin", "drift", "--quick"])).toBe("admin.drift");
    expect(commandKey(t.dir, ["admin", "drift", "capture", "--layer=x"])).toBe("admin.drift.capture");
  });

  it("keeps a group without a known subcommand under its own name", () => {
    expect(commandKey(t.dir, ["admin"])).toBe("admin");
    expect(commandKey(t.dir, ["admin", "--help"])).toBe("admin");
    expect(commandKey(t.dir, ["admin", "no-such"])).toBe("admin");
    expect(commandKey(t.dir, ["admin", "layer"])).toBe("admin.layer");
  });

  it("gives `_` for no command, options, unknown or hostile words", () => {
    expect(commandKey(t.dir, [])).toBe("_");
    expect(commandKey(t.dir, ["--help"])).toBe("_");
    expect(commandKey(t.dir, ["--version"])).toBe("_");
    expect(commandKey(t.dir, ["no-such-command"])).toBe("_");
    expect(commandKey(t.dir, ["../../etc"])).toBe("_");
    expect(commandKey(t.dir, ["admin", "../../.."])).toBe("admin");
    expect(commandKey(t.dir, ["Pull"])).toBe("_");
    expect(commandKey(t.dir, ["common"])).toBe("_");
    expect(commandKey(join(t.dir, "missing"), ["pull"])).toBe("_");
  });
});
