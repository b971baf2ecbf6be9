/**
 * Fixtures for sysroot tests: a fake OS tree (kernel, initramfs, usr/etc, os-release), a sysroot
 * made with the library, commits into its repo. Shared by the unit, interop and e2e admin tests.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Variant } from "../../../src/gvariant/index.js";
import { rmrf } from "../../../src/io/fs.js";
import { commitTree } from "../../../src/repo/commit.js";
import { Repo } from "../../../src/repo/repo.js";
import { deployTree } from "../../../src/sysroot/deploy.js";
import type { Deployment } from "../../../src/sysroot/deployment.js";
import { initFs, initOsname } from "../../../src/sysroot/init.js";
import { originFromRefspec } from "../../../src/sysroot/origin.js";
import type { Sysroot } from "../../../src/sysroot/sysroot.js";
import { simpleWriteDeployment } from "../../../src/sysroot/write-list.js";

/** Options for {@link makeOsTree}. */
export interface OsTreeOptions {
  kver?: string;
  kernel?: string;
  initramfs?: string | null;
  prettyName?: string;
  /** Extra files under usr/etc: relative path → contents. */
  etc?: Record<string, string>;
  /** Extra files anywhere: relative path → contents. */
  files?: Record<string, string>;
}

/** Write a minimal bootable OS tree into `dir`. */
export function makeOsTree(dir: string, o: OsTreeOptions = {}): void {
  const kver = o.kver ?? "1.0";
  const mod = join(dir, "usr/lib/modules", kver);
  mkdirSync(mod, { recursive: true });
  mkdirSync(join(dir, "usr/bin"), { recursive: true });
  mkdirSync(join(dir, "usr/etc/sub"), { recursive: true });
  mkdirSync(join(dir, "var"), { recursive: true }); // empty, as in an image; a booted system mounts the stateroot's here
  writeFileSync(join(mod, "vmlinuz"), o.kernel ?? "a kernel\n");
  if (o.initramfs !== null) writeFileSync(join(mod, "initramfs.img"), o.initramfs ?? "an initramfs\n");
  writeFileSync(
    join(dir, "usr/etc/os-release"),
    `NAME=TestOS\nID=testos\nPRETTY_NAME="${o.prettyName ?? "Test OS 1"}"\n`,
  );
  writeFileSync(join(dir, "usr/etc/foo.conf"), "a=1\n");
  writeFileSync(join(dir, "usr/etc/sub/y"), "y\n");
  writeFileSync(join(dir, "usr/bin/sh"), "#!sh\n", { mode: 0o755 });
  symlinkSync("usr/bin", join(dir, "bin"));
  for (const [rel, text] of Object.entries(o.etc ?? {})) {
    mkdirSync(join(dir, "usr/etc", rel, ".."), { recursive: true });
    writeFileSync(join(dir, "usr/etc", rel), text);
  }
  for (const [rel, text] of Object.entries(o.files ?? {})) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
}

/** A temp dir removed (immutable deployments included) by `cleanup`. */
export function tempDir(prefix = "arbor-sysroot-"): { dir: string; cleanup: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmrf(dir) };
}

/** `init-fs` + `os-init testos` in `dir/sysroot`; returns the sysroot path. */
export function makeSysroot(dir: string, osname = "testos"): string {
  const path = join(dir, "sysroot");
  mkdirSync(path);
  initFs(path);
  initOsname(path, osname);
  return path;
}

/** Commit `tree` to `branch` of the repo at `repoPath` (bootable, with `version`). */
export async function commitOs(
  repoPath: string,
  tree: string,
  o: { branch?: string; version?: string; timestamp?: number } = {},
): Promise<string> {
  const repo = Repo.open(repoPath);
  const r = await commitTree(repo, {
    trees: [{ kind: "dir", path: tree }],
    branch: o.branch ?? "testos/stable",
    subject: "Build",
    bootable: true,
    timestamp: o.timestamp ?? 1_600_000_000,
    metadata: o.version !== undefined ? [["version", new Variant("s", o.version)]] : [],
  });
  return r.commit;
}

/**
 * The first deployment of `testos` in `s`: `revision` checked out (no merge deployment) with an
 * origin following `refspec` (default `testos/stable`), then written as the boot list.
 */
export async function deployFirst(
  s: Sysroot,
  revision: string,
  o: { refspec?: string; kargs?: string[]; noClean?: boolean } = {},
): Promise<Deployment> {
  const d = await deployTree(s, {
    osname: "testos",
    revision,
    origin: originFromRefspec(o.refspec ?? "testos/stable"),
    merge: null,
    ...(o.kargs ? { overrideKargs: o.kargs } : {}),
  });
  await simpleWriteDeployment(s, "testos", d, null, o.noClean ? { noClean: true } : {});
  return d;
}

/** Environment for tests that must be able to delete what they deploy without root tricks. */
export const MUTABLE_ENV = { OSTREE_SYSROOT_DEBUG: "mutable-deployments" };
