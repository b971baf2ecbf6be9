/**
 * `admin upgrade --check`: what an upgrade would do, computed before anything is written.
 * The target base is read where it already is — the sysroot repository (a local ref, or a remote
 * ref after `--pull-only`), or a `file://` remote's repository opened in place — and the new
 * deployment is derived in memory from it and the declared layers. Reported: the commits, files
 * added/removed/changed, content objects (and bytes) the repository lacks, disk space the new
 * deployment needs, and local /etc changes that will shadow a default the new image changes.
 * A remote over HTTP cannot be read without fetching: pull first (`--pull-only`).
 */

import { lstatSync } from "node:fs";
import { join } from "node:path";
import { lookup } from "../core/metadata.js";
import { parseRefspec } from "../core/validate.js";
import { ArborError } from "../errors.js";
import { Variant } from "../gvariant/serialize.js";
import { MutableTree } from "../repo/mutable-tree.js";
import { statFileObject } from "../repo/read-object.js";
import { resolveRev } from "../repo/refs.js";
import { Repo } from "../repo/repo.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { deriveDeploymentCommit } from "./derive.js";
import { compareEtc } from "./drift-etc.js";
import { layerMergeDeployment } from "./layer-deploy.js";
import { baseOf, readLayerDecl } from "./layers.js";

/** The plan of an upgrade (`--json` kind `UpgradeCheck`). */
export interface UpgradeCheck {
  stateroot: string;
  changed: boolean;
  from: { commit: string; base: string; version: string | null };
  to: { commit: string; base: string; version: string | null };
  files: { added: string[]; removed: string[]; modified: string[] };
  download: { objects: number; bytes: number };
  /** Bytes of new content objects plus the new deployment's /etc copy. */
  diskSpace: number;
  /** Local /etc changes whose image default the upgrade changes. */
  staleEtc: Array<{ path: string; local: "M" | "A" | "D" }>;
}

/** Options for {@link checkUpgrade}. */
export interface UpgradeCheckOptions {
  osname?: string;
  /** Deploy this commit instead of what the refspec points to. */
  overrideCommit?: string;
  /** Use the sysroot repository's copy of the remote ref (`--deploy-only`). */
  synthetic?: boolean;
}

function versionOf(repo: Repo, commit: string): string | null {
  const v = lookup(repo.loadCommit(commit).metadata, "version");
  return v instanceof Variant && v.type === "s" ? (v.value as string) : null;
}

/** Where the target base commit can be read without writing anything. */
async function locateTarget(
  sysroot: Sysroot,
  refspec: string,
  o: UpgradeCheckOptions,
): Promise<{ repo: Repo; commit: string }> {
  const repo = sysroot.repo();
  const { remote, ref } = parseRefspec(refspec);
  if (o.overrideCommit !== undefined && repo.hasObject("commit", o.overrideCommit))
    return { repo, commit: o.overrideCommit };
  if (remote === null || o.synthetic) return { repo, commit: resolveRev(repo, o.overrideCommit ?? refspec)! };
  const { getRemote } = await import("../repo/remotes.js");
  const url = getRemote(repo, remote).url;
  if (url?.startsWith("file://")) {
    const src = Repo.open(decodeURIComponent(url.slice("file://".length)));
    return { repo: src, commit: resolveRev(src, o.overrideCommit ?? ref)! };
  }
  throw new ArborError(
    "UNSUPPORTED",
    `Cannot check an upgrade from remote "${remote}" (${url}) without fetching: run "admin upgrade --pull-only", then "admin upgrade --check --deploy-only"`,
  );
}

type Entry = { kind: "file"; cs: string } | { kind: "dir"; tree: MutableTree };

function entriesOf(t: MutableTree): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const { files, dirs } = t.entries();
  for (const [n, cs] of files) out.set(n, { kind: "file", cs });
  for (const [n, d] of dirs) out.set(n, { kind: "dir", tree: d });
  return out;
}

function allFiles(t: MutableTree, path: string, out: Array<[string, string]>): void {
  const { files, dirs } = t.entries();
  for (const [n, cs] of files) out.push([`${path}/${n}`, cs]);
  for (const [n, d] of dirs) allFiles(d, `${path}/${n}`, out);
}

/** Paths added/removed/modified from `a` to `b`, and the checksums of files new in `b`. */
function diffTrees(
  a: MutableTree,
  b: MutableTree,
  path: string,
  r: UpgradeCheck["files"],
  fresh: Set<string>,
): void {
  if (a.checksum().tree === b.checksum().tree) return;
  const ea = entriesOf(a);
  const eb = entriesOf(b);
  for (const [n, x] of ea) {
    const p = `${path}/${n}`;
    const y = eb.get(n);
    if (!y) r.removed.push(p);
    else if (x.kind === "dir" && y.kind === "dir") diffTrees(x.tree, y.tree, p, r, fresh);
    else if (x.kind === "file" && y.kind === "file") {
      if (x.cs !== y.cs) {
        r.modified.push(p);
        fresh.add(y.cs);
      }
    } else {
      r.modified.push(p);
      if (y.kind === "file") fresh.add(y.cs);
      else {
        const fs: Array<[string, string]> = [];
        allFiles(y.tree, p, fs);
        for (const [, cs] of fs) fresh.add(cs);
      }
    }
  }
  for (const [n, y] of eb) {
    if (ea.has(n)) continue;
    const p = `${path}/${n}`;
    r.added.push(p);
    if (y.kind === "file") fresh.add(y.cs);
    else {
      const fs: Array<[string, string]> = [];
      allFiles(y.tree, p, fs);
      for (const [q, cs] of fs) {
        r.added.push(q);
        fresh.add(cs);
      }
    }
  }
}

function entryAt(t: MutableTree, parts: string[]): string | null {
  let d: MutableTree | undefined = t;
  for (let i = 0; i < parts.length - 1; i++) {
    d = d.getDir(parts[i]!);
    if (!d) return null;
  }
  const last = parts[parts.length - 1]!;
  const f = d.getFile(last);
  if (f !== undefined) return `f:${f}`;
  const sub = d.getDir(last);
  return sub ? `d:${sub.meta}` : null;
}

/**
 * Plan an upgrade of the merge deployment of `o.osname` without writing anything.
 * @throws ArborError UNSUPPORTED (an HTTP remote not pulled yet), CONFLICT (layers would conflict), SYSROOT
 */
export async function checkUpgrade(sysroot: Sysroot, o: UpgradeCheckOptions = {}): Promise<UpgradeCheck> {
  const merge = layerMergeDeployment(sysroot, o.osname);
  const repo = sysroot.repo();
  const refspec = merge.origin?.get("origin", "refspec");
  if (refspec === undefined)
    throw new ArborError("SYSROOT", "No origin/refspec in current deployment origin; cannot upgrade");
  const target = await locateTarget(sysroot, refspec, o);
  const fromBase = baseOf(repo, merge.csum);
  const decl = readLayerDecl(merge.origin);
  const derived = await deriveDeploymentCommit(repo, target.commit, decl.layers, {
    priority: decl.priority,
    dryRun: true,
    baseRepo: target.repo,
  });
  const oldCommit = repo.loadCommit(merge.csum);
  const oldTree = MutableTree.fromRepo(repo, oldCommit.rootTree, oldCommit.rootMeta);
  const files = { added: [] as string[], removed: [] as string[], modified: [] as string[] };
  const fresh = new Set<string>();
  diffTrees(oldTree, derived.tree, "", files, fresh);
  let objects = 0;
  let bytes = 0;
  let disk = 0;
  for (const cs of fresh) {
    if (repo.hasObject("file", cs)) continue;
    const src = [target.repo, repo].find((r) => r.hasObject("file", cs));
    if (!src) continue;
    const obj = statFileObject(src, cs);
    objects++;
    bytes += src.archive ? lstatSync(obj.path).size : obj.size;
    disk += obj.size;
  }
  const etcFiles: Array<[string, string]> = [];
  const usrEtc = derived.tree.lookupDir(["usr", "etc"]);
  if (usrEtc) allFiles(usrEtc, "", etcFiles);
  for (const [, cs] of etcFiles) {
    const src = [repo, target.repo].find((r) => r.hasObject("file", cs));
    if (src) disk += statFileObject(src, cs).size;
  }
  const root = sysroot.deploymentPath(merge);
  const staleEtc: UpgradeCheck["staleEtc"] = [];
  for (const item of compareEtc(join(root, "usr/etc"), join(root, "etc"))) {
    const parts = ["usr", ...item.path.slice(1).split("/")];
    if (entryAt(oldTree, parts) !== entryAt(derived.tree, parts)) {
      staleEtc.push({
        path: item.path,
        local: item.change === "added" ? "A" : item.change === "removed" ? "D" : "M",
      });
    }
  }
  return {
    stateroot: merge.osname,
    changed: target.commit !== fromBase,
    from: { commit: merge.csum, base: fromBase, version: versionOf(repo, fromBase) },
    to: { commit: derived.commit, base: target.commit, version: versionOf(target.repo, target.commit) },
    files,
    download: { objects, bytes },
    diskSpace: disk,
    staleEtc,
  };
}
