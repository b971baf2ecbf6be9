/**
 * An in-memory directory tree being built for a commit (OSTree's MutableTree): file names map to
 * content checksums, directory names to subtrees, each directory has a dirmeta checksum.
 * A subtree may be backed by an existing dirtree in the repo and is only expanded when modified,
 * so layering `--tree=ref=BASE` plus a small overlay touches only the changed directories.
 */
import { sha256Hex } from "../core/checksum.js";
import { encodeDirtree } from "../core/metadata.js";
import { validateFilename } from "../core/validate.js";
import { ArborError } from "../errors.js";
import type { Repo } from "./repo.js";
import type { Transaction } from "./transaction.js";

export class MutableTree {
  /** Checksum of this directory's dirmeta (null until set). */
  meta: string | null = null;
  private files = new Map<string, string>();
  private dirs = new Map<string, MutableTree>();
  private backing: { repo: Repo; tree: string } | null = null;
  /** Unmodified since loaded from `backing`: its dirtree checksum can be reused. */
  private cleanTree: string | null = null;

  /** A tree backed by an existing dirtree/dirmeta pair; expanded lazily. */
  static fromRepo(repo: Repo, tree: string, meta: string): MutableTree {
    const t = new MutableTree();
    t.meta = meta;
    t.backing = { repo, tree };
    t.cleanTree = tree;
    return t;
  }

  private expand(): void {
    if (!this.backing) return;
    const { repo, tree } = this.backing;
    this.backing = null;
    const dt = repo.loadDirtree(tree);
    for (const f of dt.files) this.files.set(f.name, f.checksum);
    for (const d of dt.dirs) this.dirs.set(d.name, MutableTree.fromRepo(repo, d.tree, d.meta));
  }

  private touch(): void {
    this.expand();
    this.cleanTree = null;
  }

  /** Content checksum of file `name`, if this directory has one. */
  getFile(name: string): string | undefined {
    this.expand();
    return this.files.get(name);
  }

  getDir(name: string): MutableTree | undefined {
    this.expand();
    return this.dirs.get(name);
  }

  /** Names of files and subdirectories (unsorted). */
  entries(): { files: Map<string, string>; dirs: Map<string, MutableTree> } {
    this.expand();
    return { files: this.files, dirs: this.dirs };
  }

  /** Set file `name` (replacing a file or directory of that name). */
  replaceFile(name: string, checksum: string): void {
    validateFilename(name);
    this.touch();
    this.dirs.delete(name);
    this.files.set(name, checksum);
  }

  /** Get or create subdirectory `name` (replacing a file of that name). */
  ensureDir(name: string, meta?: string): MutableTree {
    validateFilename(name);
    this.expand();
    let d = this.dirs.get(name);
    if (!d) {
      this.touch();
      this.files.delete(name);
      d = new MutableTree();
      this.dirs.set(name, d);
    }
    if (meta !== undefined && d.meta !== meta) {
      d.meta = meta;
      this.cleanTree = null;
    }
    // the child will be modified by the caller: our dirtree checksum changes with it
    this.cleanTree = null;
    return d;
  }

  /** Set a subdirectory to an existing tree (as `--tree=ref=` does at a sub path). */
  replaceDir(name: string, sub: MutableTree): void {
    validateFilename(name);
    this.touch();
    this.files.delete(name);
    this.dirs.set(name, sub);
  }

  /** Remove an entry; returns whether it existed. */
  remove(name: string): boolean {
    this.touch();
    return this.files.delete(name) || this.dirs.delete(name);
  }

  /** Walk to a directory by path components, creating none. */
  lookupDir(parts: string[]): MutableTree | undefined {
    let cur: MutableTree | undefined = this;
    for (const p of parts) {
      cur = cur.getDir(p);
      if (!cur) return undefined;
    }
    return cur;
  }

  /**
   * Write all dirtrees bottom-up; returns the root (tree, meta) checksums.
   * @throws ArborError USAGE if a directory has no dirmeta.
   */
  write(tx: Transaction, path = "/"): { tree: string; meta: string } {
    if (!this.meta) throw new ArborError("USAGE", `Directory "${path}" has no metadata`);
    if (this.cleanTree) return { tree: this.cleanTree, meta: this.meta };
    this.expand();
    const files = [...this.files].map(([name, checksum]) => ({ name, checksum }));
    const dirs = [...this.dirs].map(([name, sub]) => {
      const r = sub.write(tx, path === "/" ? `/${name}` : `${path}/${name}`);
      return { name, tree: r.tree, meta: r.meta };
    });
    const bytes = encodeDirtree({ files, dirs });
    const tree = tx.writeMetadata("dirtree", bytes);
    this.cleanTree = tree;
    return { tree, meta: this.meta };
  }

  /** The root checksums this tree would get, without writing (for --dry-run / compose). */
  checksum(): { tree: string; meta: string } {
    if (!this.meta) throw new ArborError("USAGE", "Directory has no metadata");
    if (this.cleanTree) return { tree: this.cleanTree, meta: this.meta };
    this.expand();
    const files = [...this.files].map(([name, checksum]) => ({ name, checksum }));
    const dirs = [...this.dirs].map(([name, sub]) => ({ name, ...sub.checksum() }));
    return { tree: sha256Hex(encodeDirtree({ files, dirs })), meta: this.meta };
  }
}
