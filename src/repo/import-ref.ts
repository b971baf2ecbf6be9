/**
 * `commit --tree=ref=REV` with modifiers (`--owner-uid`, `--owner-gid`, `--canonical-permissions`,
 * `--no-xattrs`, `--statoverride`, `--skip-list`, `--mode-ro-executables`): as ostree does when a
 * commit modifier is present, every directory and file of the commit is read back and re-stored
 * with the modified metadata, so the new commit records the new owners and modes. Without
 * modifiers the commit's dirtrees are reused as they are (see `importRef` in commit.ts).
 */
import { isLnk } from "../core/mode.js";
import { withContext } from "../errors.js";
import type { CommitModifiers, Importer } from "./importer.js";
import type { MutableTree } from "./mutable-tree.js";
import { fileDataStream, readFileDataSync, statFileObject } from "./read-object.js";
import { resolveRev } from "./refs.js";
import { STREAM_THRESHOLD } from "./transaction.js";

/** True when any modifier would change what `--tree=ref=` imports (ostree then re-reads the tree). */
export function hasModifiers(m: CommitModifiers): boolean {
  return (
    m.ownerUid !== undefined ||
    m.ownerGid !== undefined ||
    m.canonicalPermissions === true ||
    m.noXattrs === true ||
    m.modeRoExecutables === true ||
    (m.skipList?.size ?? 0) > 0 ||
    (m.statOverride?.size ?? 0) > 0
  );
}

/**
 * Import the tree of commit `rev` into `tree` (merging), re-storing every object with the
 * importer's modifiers applied.
 * @throws ArborError NOT_FOUND (rev), OBJECT_NOT_FOUND / OBJECT_CORRUPT (naming the object), IO
 */
export async function importRefModified(imp: Importer, rev: string, tree: MutableTree): Promise<void> {
  const repo = imp.repo;
  const commit = repo.loadCommit(resolveRev(repo, rev)!);
  const walk = async (treeCs: string, metaCs: string, rel: string, dir: MutableTree): Promise<void> => {
    const dm = repo.loadDirmeta(metaCs);
    const m = imp.modify(rel || "/", dm.uid, dm.gid, dm.mode, dm.xattrs);
    dir.meta = imp.dirmeta(m.uid, m.gid, m.mode, m.xattrs);
    const dt = repo.loadDirtree(treeCs);
    for (const f of dt.files) {
      const childRel = `${rel}/${f.name}`;
      if (imp.skips(childRel)) continue;
      await imp.pool.run(async () => {
        try {
          const obj = statFileObject(repo, f.checksum);
          const h = obj.header;
          const fm = imp.modify(childRel, h.uid, h.gid, h.mode, h.xattrs);
          const header = { ...h, uid: fm.uid, gid: fm.gid, mode: fm.mode, xattrs: fm.xattrs };
          let cs: string;
          if (isLnk(h.mode) || obj.size < STREAM_THRESHOLD)
            cs = await imp.sink.content(header, readFileDataSync(obj));
          else cs = await imp.sink.stream(header, obj.size, fileDataStream(obj));
          dir.replaceFile(f.name, cs);
          imp.progress(obj.size);
        } catch (e) {
          throw withContext(`Cannot import "${childRel}" from ${rev}`, e);
        }
      });
    }
    for (const d of dt.dirs) {
      const childRel = `${rel}/${d.name}`;
      if (imp.skips(childRel)) continue;
      await walk(d.tree, d.meta, childRel, dir.ensureDir(d.name));
    }
  };
  await walk(commit.rootTree, commit.rootMeta, "", tree);
  await imp.pool.drain();
}
