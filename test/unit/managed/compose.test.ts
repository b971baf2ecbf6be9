import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { composeImage } from "../../../src/managed/compose.js";
import { type Manifest, validateManifest } from "../../../src/managed/manifest.js";
import { lookupPath } from "../../../src/repo/lookup.js";
import { readFileDataSync, statFileObject } from "../../../src/repo/read-object.js";
import { readRef } from "../../../src/repo/refs.js";
import { Repo } from "../../../src/repo/repo.js";
import { hasOstree, ostree, tempDir } from "../../helpers/cli.js";

function manifest(doc: Record<string, unknown>, baseDir: string): Manifest {
  return validateManifest(
    { ref: "os/stable", version: "1", source_date_epoch: 1700000000, ...doc },
    { baseDir },
  );
}

/** A small rootfs; `order` decides creation order (so inode order differs), `mtime` the timestamps. */
function makeRootfs(dir: string, order: "forward" | "reverse", mtime: number): void {
  const files: Array<[string, string]> = [
    ["etc/hostname", "box\n"],
    ["etc/ssh/sshd_config", "PermitRootLogin no\n"],
    ["usr/bin/sh", "#!sh\n"],
    ["usr/lib/systemd/system/app.service", "[Service]\nExecStart=/usr/bin/app\n"],
    ["boot/vmlinuz-6.1.0", "KERNEL"],
    ["boot/initrd.img-6.1.0", "INITRD"],
    ["boot/config-6.1.0", "CONFIG"],
    ["var/lib/app/state.db", "state"],
    ["home/alice/.profile", "profile"],
  ];
  const list = order === "forward" ? files : [...files].reverse();
  for (const [rel, text] of list) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text, { mode: rel.startsWith("usr/bin") ? 0o755 : 0o644 });
  }
  mkdirSync(join(dir, "var/cache/empty"), { recursive: true });
  symlinkSync("../run", join(dir, "var/run"));
  symlinkSync("boot/vmlinuz-6.1.0", join(dir, "vmlinuz"));
  mkdirSync(join(dir, "dev"), { recursive: true });
  spawnSync("mknod", [join(dir, "dev/null"), "c", "1", "3"]);
  const t = new Date(mtime * 1000);
  for (const [rel] of files) utimesSync(join(dir, rel), t, t);
}

describe("composeImage", () => {
  let t: ReturnType<typeof tempDir>;
  let repo: Repo;
  beforeEach(() => {
    t = tempDir("arbor-compose-");
    repo = Repo.create(join(t.dir, "repo"), { mode: "bare" });
  });
  afterEach(() => t.cleanup());

  it("gives the same checksum for the same inputs in different places, orders and times", async () => {
    makeRootfs(join(t.dir, "a"), "forward", 1000);
    makeRootfs(join(t.dir, "b"), "reverse", 2_000_000_000);
    const ma = manifest({ inputs: [{ dir: "a" }] }, t.dir);
    const mb = manifest({ inputs: [{ dir: "b" }] }, t.dir);
    const dry = await composeImage(repo, ma, { dryRun: true });
    expect(dry.written).toBe(false);
    expect(readRef(repo, "os/stable")).toBeNull();
    const real = await composeImage(repo, mb);
    expect(real.commit).toBe(dry.commit);
    expect(readRef(repo, "os/stable")).toBe(real.commit);
    const other = Repo.create(join(t.dir, "repo2"), { mode: "archive" });
    expect((await composeImage(other, ma)).commit).toBe(real.commit);
    // and it changes when an input's content does
    writeFileSync(join(t.dir, "b/etc/hostname"), "other\n");
    expect((await composeImage(repo, mb, { dryRun: true })).commit).not.toBe(real.commit);
  });

  it("postprocesses a plain rootfs into OSTree layout", async () => {
    makeRootfs(join(t.dir, "a"), "forward", 1000);
    const r = await composeImage(repo, manifest({ inputs: [{ dir: "a" }] }, t.dir));
    expect(r.dropped).toEqual(["/dev/null"]);
    expect(r.postprocess?.kernel).toBe("6.1.0");
    const c = repo.loadCommit(r.commit);
    expect(c.timestamp).toBe(1700000000);
    expect(c.parent).toBeNull();
    const at = (p: string) => lookupPath(repo, c.rootTree, c.rootMeta, p);
    const text = (p: string) => {
      const e = at(p);
      if (e?.kind !== "file") throw new Error(`${p} missing`);
      return Buffer.from(readFileDataSync(statFileObject(repo, e.checksum))).toString();
    };
    const target = (p: string) => {
      const e = at(p);
      if (e?.kind !== "file") throw new Error(`${p} missing`);
      return statFileObject(repo, e.checksum).header.symlinkTarget;
    };
    expect(at("/etc")).toBeNull();
    expect(text("/usr/etc/hostname")).toBe("box\n");
    expect(text("/usr/lib/modules/6.1.0/vmlinuz")).toBe("KERNEL");
    expect(text("/usr/lib/modules/6.1.0/initramfs.img")).toBe("INITRD");
    expect(at("/boot/vmlinuz-6.1.0")).toBeNull();
    expect(at("/vmlinuz")).toBeNull();
    expect(target("/home")).toBe("var/home");
    expect(target("/root")).toBe("var/roothome");
    expect(target("/ostree")).toBe("sysroot/ostree");
    expect(at("/sysroot")?.kind).toBe("dir");
    const dt = repo.loadDirtree((at("/var") as { tree: string }).tree);
    expect(dt.files.length + dt.dirs.length).toBe(0);
    const tmpfiles = text("/usr/lib/tmpfiles.d/arbor-var.conf");
    expect(tmpfiles).toContain("d /var/lib/app 0755 0 0 - -");
    expect(tmpfiles).toContain("C /var/lib/app/state.db - - - - /usr/share/factory/var/lib/app/state.db");
    expect(tmpfiles).toContain("L /var/run - - - - ../run");
    expect(tmpfiles).toContain(
      "C /var/home/alice/.profile - - - - /usr/share/factory/var/home/alice/.profile",
    );
    expect(tmpfiles).toContain("d /var/roothome 0700 0 0 - -");
    expect(text("/usr/share/factory/var/lib/app/state.db")).toBe("state");
  });

  it("layers later-wins with OCI whiteouts, and normalizes owners as declared", async () => {
    makeRootfs(join(t.dir, "a"), "forward", 1000);
    mkdirSync(join(t.dir, "l1/etc"), { recursive: true });
    writeFileSync(join(t.dir, "l1/etc/hostname"), "layer1\n");
    writeFileSync(join(t.dir, "l1/etc/.wh.ssh"), "");
    mkdirSync(join(t.dir, "l2/etc"), { recursive: true });
    writeFileSync(join(t.dir, "l2/etc/hostname"), "layer2\n");
    spawnSync("chown", ["-R", "1234:1234", join(t.dir, "l2")]);
    const m = manifest(
      { inputs: [{ dir: "a" }], layers: [{ dir: "l1" }, { dir: "l2" }], normalize: { owner: "root" } },
      t.dir,
    );
    const r = await composeImage(repo, m);
    const c = repo.loadCommit(r.commit);
    const host = lookupPath(repo, c.rootTree, c.rootMeta, "/usr/etc/hostname");
    if (host?.kind !== "file") throw new Error("no hostname");
    const o = statFileObject(repo, host.checksum);
    expect(Buffer.from(readFileDataSync(o)).toString()).toBe("layer2\n");
    expect(o.header.uid).toBe(0);
    expect(lookupPath(repo, c.rootTree, c.rootMeta, "/usr/etc/ssh")).toBeNull();
    expect(lookupPath(repo, c.rootTree, c.rootMeta, "/usr/etc/.wh.ssh")).toBeNull();
  });

  it("imports tarballs (gzip, zstd) and refs like folders", async () => {
    makeRootfs(join(t.dir, "a"), "forward", 1000);
    spawnSync("rm", ["-f", join(t.dir, "a/dev/null")]);
    const fromDir = await composeImage(repo, manifest({ inputs: [{ dir: "a" }] }, t.dir), { dryRun: true });
    expect(
      spawnSync("tar", ["-C", join(t.dir, "a"), "--numeric-owner", "-czf", join(t.dir, "a.tar.gz"), "."])
        .status,
    ).toBe(0);
    expect(
      spawnSync("tar", [
        "-C",
        join(t.dir, "a"),
        "--numeric-owner",
        "--zstd",
        "-cf",
        join(t.dir, "a.tar.zst"),
        ".",
      ]).status,
    ).toBe(0);
    const gz = await composeImage(repo, manifest({ inputs: [{ tar: "a.tar.gz" }] }, t.dir), { dryRun: true });
    const zst = await composeImage(repo, manifest({ inputs: [{ tar: "a.tar.zst" }] }, t.dir), {
      dryRun: true,
    });
    expect(gz.commit).toBe(fromDir.commit);
    expect(zst.commit).toBe(fromDir.commit);
    // a ref input: the raw tree, no postprocess, committed to another repo and imported back
    const src = Repo.create(join(t.dir, "src"), { mode: "archive" });
    const raw = await composeImage(
      src,
      manifest({ ref: "raw", inputs: [{ dir: "a" }], postprocess: "none" }, t.dir),
    );
    const viaRef = manifest({ inputs: [{ ref: "raw", repo: "src" }] }, t.dir);
    expect((await composeImage(repo, viaRef, { dryRun: true })).commit).toBe(fromDir.commit);
    expect((await composeImage(repo, viaRef)).commit).toBe(fromDir.commit);
    expect(repo.hasObject("commit", raw.commit)).toBe(true);
  });

  it.skipIf(!hasOstree)("without postprocess, equals `ostree commit` of the same folder", async () => {
    makeRootfs(join(t.dir, "a"), "forward", 1000);
    spawnSync("rm", ["-f", join(t.dir, "a/dev/null")]);
    const r = await composeImage(repo, manifest({ inputs: [{ dir: "a" }], postprocess: "none" }, t.dir), {
      dryRun: true,
    });
    const o = ostree([
      "commit",
      `--repo=${join(t.dir, "repo")}`,
      "--branch=os/stable",
      `--tree=dir=${join(t.dir, "a")}`,
      "--parent=none",
      "--timestamp=@1700000000",
      "--subject=os/stable 1",
      "--add-metadata-string=version=1",
    ]);
    expect(o.stderr).toBe("");
    expect(o.stdout.trim()).toBe(r.commit);
  });
});

describe("validateManifest", () => {
  const bad = (doc: unknown) => () => validateManifest(doc, { baseDir: "/x", what: "m.yaml" });
  it("names the bad field", () => {
    expect(bad({ ref: "a", version: "1", source_date_epoch: 1, inputs: [{ dir: "x" }, { tar: 3 }] })).toThrow(
      'Invalid manifest "m.yaml": inputs[1].tar: must be string',
    );
    expect(bad({ ref: "a", version: "1", source_date_epoch: 1, inputs: [{ dir: "x" }], colour: 1 })).toThrow(
      "colour: unknown field",
    );
    expect(bad({ ref: "a", version: "1", source_date_epoch: 1, inputs: [{ zip: "x" }] })).toThrow(
      "inputs[0]: must have exactly one of dir, tar, ref, debian",
    );
    expect(bad({ version: "1", source_date_epoch: 1, inputs: [{ dir: "x" }] })).toThrow("ref: is required");
    expect(bad({ ref: "a", version: "1", inputs: [{ dir: "x" }] })).toThrow("source_date_epoch: is required");
    expect(
      bad({
        ref: "a",
        version: "1",
        source_date_epoch: 1,
        inputs: [{ dir: "x" }],
        normalize: { owner: "bob" },
      }),
    ).toThrow("normalize.owner: must be one of keep, root");
    expect(bad({ ref: "a b", version: "1", source_date_epoch: 1, inputs: [{ dir: "x" }] })).toThrow(
      "not a valid ref name",
    );
  });
  it("resolves paths against the manifest folder and takes SOURCE_DATE_EPOCH from the environment", () => {
    const m = validateManifest(
      {
        ref: "a",
        version: 2,
        inputs: [{ dir: "root" }, { debian: { suite: "bookworm", packages: ["systemd"] } }],
      },
      { baseDir: "/m", env: { SOURCE_DATE_EPOCH: "42" } },
    );
    expect(m.inputs[0]).toEqual({ kind: "dir", path: "/m/root" });
    expect(m.inputs[1]).toEqual({
      kind: "debian",
      suite: "bookworm",
      variant: "minbase",
      packages: ["systemd"],
    });
    expect(m.sourceDateEpoch).toBe(42);
    expect(m.version).toBe("2");
  });
  it("reads YAML", async () => {
    const { loadManifest } = await import("../../../src/managed/manifest.js");
    const t = tempDir();
    try {
      writeFileSync(
        join(t.dir, "m.yaml"),
        "ref: os/x\nversion: '3'\nsource_date_epoch: 5\ninputs:\n  - dir: rootfs\n",
      );
      expect(loadManifest(join(t.dir, "m.yaml")).inputs).toEqual([
        { kind: "dir", path: join(t.dir, "rootfs") },
      ]);
      writeFileSync(join(t.dir, "m.yaml"), "ref: [\n");
      expect(() => loadManifest(join(t.dir, "m.yaml"))).toThrow(/Cannot parse manifest/);
      expect(readFileSync(join(t.dir, "m.yaml"), "utf8")).toContain("ref");
    } finally {
      t.cleanup();
    }
  });
});
