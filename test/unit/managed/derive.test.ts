import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deriveDeploymentCommit, findConflicts } from "../../../src/managed/derive.js";
import {
  baseOf,
  derivedInputs,
  readLayerDecl,
  storeLayer,
  writeLayerDecl,
} from "../../../src/managed/layers.js";
import { KeyFile } from "../../../src/repo/config.js";
import { lookupPath } from "../../../src/repo/lookup.js";
import { readFileDataSync, statFileObject } from "../../../src/repo/read-object.js";
import { Repo } from "../../../src/repo/repo.js";
import { commitOs, makeOsTree, tempDir } from "../sysroot/_fixtures.js";

describe("deriveDeploymentCommit", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let repo: Repo;
  let base: string;
  const layerDir = (name: string, files: Record<string, string>): string => {
    const dir = join(t.dir, `layer-${name}`);
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(join(dir, rel, ".."), { recursive: true });
      writeFileSync(join(dir, rel), text);
    }
    return dir;
  };
  const text = (commit: string, path: string): string | null => {
    const c = repo.loadCommit(commit);
    const e = lookupPath(repo, c.rootTree, c.rootMeta, path);
    return e?.kind === "file"
      ? Buffer.from(readFileDataSync(statFileObject(repo, e.checksum))).toString()
      : null;
  };

  beforeEach(async () => {
    t = tempDir("arbor-derive-");
    repo = Repo.create(join(t.dir, "repo"), { mode: "bare" });
    makeOsTree(join(t.dir, "os"), { etc: { motd: "hi\n" } });
    base = await commitOs(join(t.dir, "repo"), join(t.dir, "os"), { version: "7" });
  });
  afterEach(() => t.cleanup());

  it("records its inputs, maps etc/ to usr/etc/, applies whiteouts, and depends only on its inputs", async () => {
    await storeLayer(repo, "a", {
      kind: "dir",
      path: layerDir("a", { "etc/a.conf": "A\n", "etc/.wh.motd": "", "usr/share/a": "x" }),
    });
    const r1 = await deriveDeploymentCommit(repo, base, ["a"]);
    const r2 = await deriveDeploymentCommit(repo, base, ["a"], { dryRun: true });
    expect(r2.commit).toBe(r1.commit);
    expect(text(r1.commit, "/usr/etc/a.conf")).toBe("A\n");
    expect(text(r1.commit, "/usr/etc/motd")).toBeNull();
    expect(text(r1.commit, "/usr/etc/.wh.motd")).toBeNull();
    expect(text(r1.commit, "/usr/share/a")).toBe("x");
    expect(text(r1.commit, "/usr/etc/foo.conf")).toBe("a=1\n");
    const c = repo.loadCommit(r1.commit);
    expect(c.parent).toBeNull();
    expect(c.timestamp).toBe(repo.loadCommit(base).timestamp);
    // the root keeps the base's metadata, not the layer folder's
    expect(c.rootMeta).toBe(repo.loadCommit(base).rootMeta);
    const inputs = derivedInputs(repo, r1.commit)!;
    expect(inputs.base).toBe(base);
    expect(inputs.layers.map((l) => l.name)).toEqual(["a"]);
    expect(baseOf(repo, r1.commit)).toBe(base);
    expect(baseOf(repo, base)).toBe(base);
    // a new layer version is a new input, so a new commit
    await storeLayer(repo, "a", { kind: "dir", path: layerDir("a2", { "etc/a.conf": "A2\n" }) });
    expect((await deriveDeploymentCommit(repo, base, ["a"], { dryRun: true })).commit).not.toBe(r1.commit);
    // no layers: the base itself
    expect((await deriveDeploymentCommit(repo, base, [])).commit).toBe(base);
    await expect(deriveDeploymentCommit(repo, r1.commit, ["a"])).rejects.toThrow("itself a derived commit");
  });

  it("refuses conflicting layers, naming them and the path, unless a priority decides", async () => {
    await storeLayer(repo, "x", {
      kind: "dir",
      path: layerDir("x", { "etc/c.conf": "X\n", "etc/same": "s" }),
    });
    await storeLayer(repo, "y", {
      kind: "dir",
      path: layerDir("y", { "etc/c.conf": "Y\n", "etc/same": "s" }),
    });
    await expect(deriveDeploymentCommit(repo, base, ["x", "y"])).rejects.toThrow(
      'Layers write different content to the same path: "/usr/etc/c.conf" ("x", "y")',
    );
    const r = await deriveDeploymentCommit(repo, base, ["y", "x"], { priority: ["y"] });
    expect(text(r.commit, "/usr/etc/c.conf")).toBe("Y\n");
    expect(r.conflicts).toEqual([{ path: "/usr/etc/c.conf", layers: ["y", "x"], winner: "y" }]);
  });

  it("refuses a layer that writes /var", async () => {
    await expect(
      storeLayer(repo, "v", { kind: "dir", path: layerDir("v", { "var/lib/x": "1" }) }),
    ).rejects.toThrow("writes /var");
  });

  it("findConflicts treats a whiteout against a file as a conflict", () => {
    const c = findConflicts(
      [
        { name: "a", entries: new Map([["/usr/etc/x", "file:1" as const]]) },
        { name: "b", entries: new Map([["/usr/etc/x", "whiteout" as const]]) },
      ],
      ["b", "a"],
    );
    expect(c).toEqual([{ path: "/usr/etc/x", layers: ["a", "b"], winner: "b" }]);
  });
});

describe("origin declarations", () => {
  it("round-trip through the [arbor] group and leave [origin] alone", () => {
    const kf = KeyFile.parse("[origin]\nrefspec=r:os\n");
    writeLayerDecl(kf, { layers: ["a", "b"], priority: ["b", "gone"] });
    expect(kf.toString()).toBe("[origin]\nrefspec=r:os\n\n[arbor]\nlayers=a;b;\nlayer-priority=b;\n");
    expect(readLayerDecl(kf)).toEqual({ layers: ["a", "b"], priority: ["b"] });
    writeLayerDecl(kf, { layers: [], priority: [] });
    expect(kf.toString()).toBe("[origin]\nrefspec=r:os\n");
    expect(() => readLayerDecl(KeyFile.parse("[arbor]\nlayers=../x;\n"))).toThrow("Invalid layer name");
  });
});
