/** Fixtures shared by the traverse, fsck and prune tests: temp repos with small histories. */
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { sha256Hex } from "../../../src/core/checksum.js";
import { type Dirtree, decodeDirtree, encodeCommit } from "../../../src/core/metadata.js";
import { native } from "../../../src/io/native.js";
import { commitTree } from "../../../src/repo/commit.js";
import { Repo, type RepoMode } from "../../../src/repo/repo.js";

/** A temp dir removed by `cleanup`. */
export function tmp(prefix = "arbor-fp-"): { dir: string; cleanup: () => void } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** True if `dir`'s filesystem takes user xattrs (bare-user repos need them). */
export function userXattrsWork(dir: string): boolean {
  const p = join(dir, ".probe");
  writeFileSync(p, "");
  try {
    native().lsetxattr(p, "user.probe", new Uint8Array([1]));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(p, { force: true });
  }
}

/** Write a small tree: files, a subdir shared by name across commits, a symlink, an empty file. */
export function writeTree(root: string, variant: string, opts: { bigBytes?: number } = {}): void {
  mkdirSync(join(root, "sub/deeper"), { recursive: true });
  mkdirSync(join(root, "same"), { recursive: true });
  writeFileSync(join(root, "a.txt"), `hello ${variant}\n`);
  writeFileSync(join(root, "sub/b.txt"), "unchanged\n");
  writeFileSync(join(root, "sub/deeper/c.txt"), `deep ${variant}\n`);
  writeFileSync(join(root, "same/s.txt"), "shared by every commit\n");
  writeFileSync(join(root, "empty"), "");
  symlinkSync("a.txt", join(root, "link"));
  if (opts.bigBytes) {
    const big = Buffer.alloc(opts.bigBytes);
    for (let i = 0; i + 4 <= big.length; i += 4) big.writeUInt32LE(Math.imul(i, 2654435761) >>> 0, i);
    writeFileSync(join(root, "big.bin"), big);
  }
}

export interface History {
  repo: Repo;
  /** Commits on `main`, oldest first. */
  commits: string[];
  /** Where source trees were written. */
  work: string;
}

/**
 * A repo of `mode` with `n` commits on `main` (timestamps 2020-01-01 + i days), each a variant of
 * {@link writeTree}.
 */
export async function makeHistory(
  dir: string,
  mode: RepoMode,
  n = 2,
  opts: { bigBytes?: number; branch?: string } = {},
): Promise<History> {
  const repo = Repo.create(join(dir, `repo-${mode}`), { mode });
  const work = join(dir, `work-${mode}`);
  const commits: string[] = [];
  for (let i = 0; i < n; i++) {
    const src = join(work, `v${i}`);
    mkdirSync(src, { recursive: true });
    writeTree(src, `v${i}`, opts);
    const r = await commitTree(repo, {
      trees: [{ kind: "dir", path: src }],
      branch: opts.branch ?? "main",
      subject: `commit ${i}`,
      timestamp: Date.UTC(2020, 0, 1 + i) / 1000,
      ownerUid: 0,
      ownerGid: 0,
    });
    commits.push(r.commit);
  }
  return { repo, commits, work };
}

/** The checksum of a file in a commit's tree, by path ("sub/b.txt"). */
export function fileChecksum(repo: Repo, commit: string, path: string): string {
  let tree: Dirtree = decodeDirtree(repo.readMetadata("dirtree", repo.loadCommit(commit).rootTree));
  const parts = path.split("/");
  for (const dir of parts.slice(0, -1)) {
    const d = tree.dirs.find((x) => x.name === dir);
    if (!d) throw new Error(`no dir ${dir}`);
    tree = decodeDirtree(repo.readMetadata("dirtree", d.tree));
  }
  const f = tree.files.find((x) => x.name === parts[parts.length - 1]);
  if (!f) throw new Error(`no file ${path}`);
  return f.checksum;
}

/** The dirtree checksum of a subdirectory of a commit ("sub/deeper"). */
export function dirtreeChecksum(repo: Repo, commit: string, path: string): string {
  let cs = repo.loadCommit(commit).rootTree;
  for (const dir of path.split("/").filter(Boolean)) {
    const d = decodeDirtree(repo.readMetadata("dirtree", cs)).dirs.find((x) => x.name === dir);
    if (!d) throw new Error(`no dir ${dir}`);
    cs = d.tree;
  }
  return cs;
}

/** Flip one byte of a file in place (XOR 0xff). */
export function flipByte(path: string, offset: number): void {
  const b = readFileSync(path);
  const at = offset < 0 ? b.length + offset : offset;
  b[at] = b[at]! ^ 0xff;
  writeFileSync(path, b);
}

/**
 * Write a metadata object's bytes straight into `repo`'s objects/ (no transaction: its fsyncs
 * would dominate tests that make thousands of made-up dirtrees); returns its checksum.
 */
export function putLooseMetadata(
  repo: Repo,
  type: "dirtree" | "dirmeta" | "commit",
  bytes: Uint8Array,
): string {
  const cs = sha256Hex(bytes);
  const p = repo.objectPath(cs, type);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, bytes);
  return cs;
}

/** A commit of the tree (rootTree, rootMeta), written with {@link putLooseMetadata}. */
export function putCommit(repo: Repo, rootTree: string, rootMeta: string, subject = "made up"): string {
  return putLooseMetadata(
    repo,
    "commit",
    encodeCommit({
      metadata: [],
      parent: null,
      related: [],
      subject,
      body: "",
      timestamp: 0,
      rootTree,
      rootMeta,
    }),
  );
}
