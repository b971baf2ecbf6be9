/**
 * Interop: `commit --link-checkout-speedup` / `--devino-canonical` of a tree made of hardlinks into
 * the repository (`checkout -H --union` of two commits with different owners) gives the commit
 * ostree gives, in every repo mode: files hardlinked to objects are recorded as those objects
 * (in bare-user, with the owners kept in `user.ostreemeta`, not the inode's), a file that is not a
 * hardlink is hashed, a hardlinked file modified in place keeps its object's checksum (the data is
 * not read), and modifiers win over a hit unless `-I` is given.
 *
 * Both tools commit into the same repository (the tree's inodes belong to it), ostree first.
 */
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree, tempDir } from "../helpers/cli.js";

const isRoot = process.getuid?.() === 0;
const modes = isRoot
  ? (["bare-user", "bare", "bare-user-only", "archive"] as const)
  : (["bare-user", "bare-user-only", "archive"] as const);
const TS = "--timestamp=2024-01-01 00:00:00 +0000";

/** The `Commit:` and `Content Cache Hits:` lines of `--table-output`. */
function summary(out: string): { commit: string; hits: number } {
  const commit = /^Commit: ([0-9a-f]{64})$/m.exec(out)?.[1];
  const hits = /^Content Cache Hits: (\d+)$/m.exec(out)?.[1];
  if (!commit || hits === undefined) throw new Error(`unexpected --table-output:\n${out}`);
  return { commit, hits: Number(hits) };
}

describe.skipIf(!hasOstree)("commit --link-checkout-speedup as ostree", () => {
  let t: ReturnType<typeof tempDir>;
  const repos: Record<string, string> = {};
  const roots: Record<string, string> = {};

  beforeAll(() => {
    t = tempDir("arbor-link-speedup-");
    const comp = join(t.dir, "components");
    for (const c of ["dbus", "systemd"]) mkdirSync(join(comp, c, "usr/bin"), { recursive: true });
    mkdirSync(join(comp, "dbus/usr/lib"));
    writeFileSync(join(comp, "dbus/usr/bin/dbus-daemon"), "dbus binary\n", { mode: 0o755 });
    writeFileSync(join(comp, "dbus/usr/lib/dbus-daemon-helper"), "dbus helper\n", { mode: 0o4755 });
    writeFileSync(join(comp, "dbus/usr/lib/libdbus.so.1"), "dbus lib\n");
    writeFileSync(join(comp, "systemd/usr/bin/systemd"), "systemd binary\n", { mode: 0o755 });
    writeFileSync(join(comp, "systemd/usr/bin/edited"), "edited in place\n");
    for (const mode of modes) {
      const repo = join(t.dir, `repo-${mode}`);
      ok(ostree(["init", `--repo=${repo}`, `--mode=${mode}`]));
      const r = [`--repo=${repo}`, TS];
      ok(
        ostree(["commit", ...r, "-b", "dbus", "--owner-uid=0", "--owner-gid=81", `--tree=dir=${comp}/dbus`]),
      );
      ok(
        ostree([
          "commit",
          ...r,
          "-b",
          "systemd",
          "--owner-uid=0",
          "--owner-gid=0",
          `--tree=dir=${comp}/systemd`,
        ]),
      );
      const root = join(t.dir, `rootfs-${mode}`);
      // archive objects cannot be hardlinked: a copy (no hits, as in ostree)
      const co = mode === "bare" ? ["-H"] : mode === "archive" ? ["-U"] : ["-U", "-H"];
      for (const c of ["dbus", "systemd"])
        ok(ostree(["checkout", `--repo=${repo}`, ...co, "--union", c, root]));
      // not a hardlink of any object: hashed
      writeFileSync(join(root, "usr/lib/cache.txt"), "some rootfs data\n");
      // a hardlink modified in place (the object changes with it)
      appendFileSync(join(root, "usr/bin/edited"), "more\n");
      repos[mode] = repo;
      roots[mode] = root;
    }
  });
  afterAll(() => t?.cleanup());

  /** Commit `roots[mode]` with both tools (ostree first); both summaries. */
  const both = (mode: string, flags: string[]) => {
    const args = ["commit", `--repo=${repos[mode]}`, TS, "--orphan", "--table-output", ...flags];
    const o = summary(ok(ostree([...args, `--tree=dir=${roots[mode]}`]), "ostree commit"));
    const a = summary(ok(arbor([...args, `--tree=dir=${roots[mode]}`]), "arbor commit"));
    return { o, a };
  };
  const ls = (mode: string, rev: string, path: string) =>
    ok(arbor(["ls", `--repo=${repos[mode]}`, "-C", rev, path]));
  const checksumOf = (line: string) => line.split(/\s+/)[4];

  for (const mode of modes) {
    it(`${mode}: the same commit and cache hits as ostree`, () => {
      const { o, a } = both(mode, ["--link-checkout-speedup"]);
      expect(a).toEqual(o);
      // hits only where ostree finds them, the five hardlinked files of bare and bare-user (never
      // with canonical permissions; archive checkouts are copies)
      if (mode === "bare" || mode === "bare-user") expect(a.hits).toBe(5);
      else expect(a.hits).toBe(0);
      const helper = ls(mode, a.commit, "/usr/lib/dbus-daemon-helper");
      // bare-user-only canonicalizes; an archive checkout -U is a copy owned by us, without suid
      if (mode === "bare-user-only" || mode === "archive") expect(helper).toMatch(/^-00755 0 0 /);
      else expect(helper).toMatch(/^-04755 0 81 /);
      // the in-place edit: recorded as its old object where a hit is taken, hashed otherwise
      const before = checksumOf(ls(mode, "systemd", "/usr/bin/edited"));
      const after = checksumOf(ls(mode, a.commit, "/usr/bin/edited"));
      if (a.hits > 0) expect(after).toBe(before);
      else expect(after).not.toBe(before);
      expect(ok(arbor(["cat", `--repo=${repos[mode]}`, a.commit, "/usr/lib/cache.txt"]))).toBe(
        "some rootfs data",
      );
    });

    it(`${mode}: --owner-uid wins over a hit; -I takes hits as they are`, () => {
      const mod = both(mode, ["--link-checkout-speedup", "--owner-uid=5"]);
      expect(mod.a).toEqual(mod.o);
      expect(ls(mode, mod.a.commit, "/usr/lib/dbus-daemon-helper")).toMatch(
        mode === "bare-user-only" ? /^-00755 0 0 / : mode === "archive" ? /^-00755 5 0 / : /^-04755 5 81 /,
      );
      // with -I the skip list still applies to files that are not hits
      const skip = join(t.dir, "skip-list");
      writeFileSync(skip, "/usr/lib/cache.txt\n");
      const canon = both(mode, ["-I", "--owner-uid=5", `--skip-list=${skip}`]);
      expect(canon.a).toEqual(canon.o);
      if (mode !== "archive") expect(canon.a.hits).toBe(5);
      if (mode === "bare-user")
        expect(ls(mode, canon.a.commit, "/usr/lib/dbus-daemon-helper")).toMatch(/^-04755 0 81 /);
      const skipped = arbor(["ls", `--repo=${repos[mode]}`, canon.a.commit, "/usr/lib/cache.txt"]);
      expect(skipped.code).not.toBe(0);
    });
  }

  it("without the flag, a bare-user checkout commits with the inode's owners", () => {
    const args = [
      "commit",
      `--repo=${repos["bare-user"]}`,
      TS,
      "--orphan",
      `--tree=dir=${roots["bare-user"]}`,
    ];
    const o = ok(ostree(args));
    const a = ok(arbor(args));
    expect(a).toBe(o);
    expect(ls("bare-user", a, "/usr/lib/dbus-daemon-helper")).toMatch(/^-0\d{4} 0 0 /);
  });
});
