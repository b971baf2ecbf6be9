import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tmpfilesPaths, undeclaredVar, VarDeclarations } from "../../../src/managed/tmpfiles.js";
import { tempDir } from "../../helpers/cli.js";

describe("tmpfilesPaths", () => {
  it("reads the path column, skipping comments and unescaping", () => {
    expect(
      tmpfilesPaths(
        '# c\n\nd /var/lib/app 0755 root root -\nL+ /var/run - - - - ../run\nd "/var/a b"\nd /var/x\\x20y\nz relative\n',
      ),
    ).toEqual(["/var/lib/app", "/var/run", "/var/a b", "/var/x y"]);
  });
});

describe("undeclaredVar", () => {
  let t: ReturnType<typeof tempDir>;
  beforeEach(() => {
    t = tempDir();
  });
  afterEach(() => t.cleanup());

  it("reports what neither tmpfiles.d nor the allowlist declares, looking into the skeleton and partly declared dirs", () => {
    const root = join(t.dir, "deploy");
    mkdirSync(join(root, "usr/lib/tmpfiles.d"), { recursive: true });
    mkdirSync(join(root, "etc/tmpfiles.d"), { recursive: true });
    mkdirSync(join(root, "etc/arbor"), { recursive: true });
    writeFileSync(join(root, "usr/lib/tmpfiles.d/app.conf"), "d /var/lib/app\nd /var/cache/app-*\n");
    writeFileSync(join(root, "usr/lib/tmpfiles.d/gone.conf"), "d /var/lib/overridden\n");
    writeFileSync(join(root, "etc/tmpfiles.d/gone.conf"), "# masked\n");
    writeFileSync(join(root, "etc/arbor/var-allowlist"), "/var/srv/data\n");
    const v = join(t.dir, "var");
    for (const d of [
      "lib/app/db",
      "lib/overridden",
      "lib/rogue",
      "cache/app-1",
      "cache/other",
      "srv/data/x",
      "srv/extra",
      "log",
    ]) {
      mkdirSync(join(v, d), { recursive: true });
    }
    symlinkSync("../run", join(v, "run"));
    writeFileSync(join(v, ".updated"), "");
    expect(undeclaredVar(v, VarDeclarations.load(root))).toEqual([
      "/var/cache/other",
      "/var/lib/overridden",
      "/var/lib/rogue",
      "/var/srv/extra",
    ]);
  });
});
