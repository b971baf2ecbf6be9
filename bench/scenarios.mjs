// The bench scenarios. Each has
//   setup(dir, tool)  -> state: fresh inputs/outputs for one run in its own dir
//   cmd.ostree(state) / cmd.arbor(state) -> argv after the binary (arbor mirrors
//                        ostree's flags, so most scenarios use one argv for both)
//   fingerprint(state, result) -> a string both tools must agree on, or null
// Read-only inputs (repos made once by the real ostree from the same tree) are
// shared between runs and tools; everything a tool writes is fresh per run.
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { sh } from "./lib/measure.mjs";

export const TIMESTAMP = "2024-01-01 00:00:00 +0000";

/** The ref a repo points `bench` at (plain ref file, read without either tool). */
export function readRef(repo, ref = "heads/bench") {
  const p = join(repo, "refs", ref);
  return existsSync(p) ? readFileSync(p, "utf8").trim() : null;
}

/** Number of files under objects/ (cheap completeness check after a pull). */
export function countObjects(repo) {
  let n = 0;
  const objs = join(repo, "objects");
  if (!existsSync(objs)) return 0;
  for (const d of readdirSync(objs)) n += readdirSync(join(objs, d)).length;
  return n;
}

/** Hash of (path, type+mode, size, symlink target) of every entry: cheap tree equality. */
export function treeManifest(root) {
  const h = createHash("sha256");
  const walk = (rel) => {
    const names = readdirSync(join(root, rel)).sort();
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      const extra = st.isSymbolicLink() ? readlinkSync(join(root, p)) : st.isFile() ? st.size : "";
      h.update(`${p}\0${st.mode.toString(8)}\0${extra}\n`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk("");
  return h.digest("hex").slice(0, 16);
}

const both = (f) => ({ ostree: f, arbor: f });

/**
 * Inputs prepared once per bench run with the real ostree (memoized):
 * repos holding the tree as ref `bench`, made with the same --timestamp.
 */
export function makePrep({ ostree, work, treePath }) {
  const memo = new Map();
  const once = (key, fn) => {
    if (!memo.has(key)) memo.set(key, fn());
    return memo.get(key);
  };
  const repo = (kind, mode) =>
    once(`${kind}/${mode}`, () => {
      const r = join(work, "prep", kind, mode);
      mkdirSync(r, { recursive: true });
      const t0 = Date.now();
      sh([ostree, "init", `--repo=${r}`, `--mode=${mode}`]);
      sh([
        ostree,
        "commit",
        `--repo=${r}`,
        "-b",
        "bench",
        "-s",
        "bench",
        `--timestamp=${TIMESTAMP}`,
        treePath(kind),
      ]);
      console.error(
        `bench: prepared ${mode} repo of ${kind} with ostree (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
      );
      return r;
    });
  const small = () =>
    once("small", () => {
      const t = join(work, "prep", "small-tree");
      mkdirSync(join(t, "usr/bin"), { recursive: true });
      writeFileSync(join(t, "usr/bin/hello"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
      writeFileSync(join(t, "README"), "a small repo for startup timing\n");
      const r = join(work, "prep", "small-repo");
      mkdirSync(r, { recursive: true });
      sh([ostree, "init", `--repo=${r}`, "--mode=bare-user"]);
      sh([ostree, "commit", `--repo=${r}`, "-b", "bench", "-s", "bench", `--timestamp=${TIMESTAMP}`, t]);
      return r;
    });
  /** An archive repo with bench = v1 (the tree) then v2 (tree + 200 new files), summary updated. */
  const served = (kind) =>
    once(`served/${kind}`, () => {
      const r = join(work, "prep", kind, "served");
      const ov = join(work, "prep", kind, "overlay-v2");
      mkdirSync(join(ov, "usr/share/arbor-bench-v2"), { recursive: true });
      for (let i = 0; i < 200; i++) {
        writeFileSync(join(ov, "usr/share/arbor-bench-v2", `f${i}`), `v2 file ${i}\n`.repeat(100 + i * 50));
      }
      mkdirSync(r, { recursive: true });
      sh([ostree, "init", `--repo=${r}`, "--mode=archive"]);
      const tp = treePath(kind);
      const v1 = sh([
        ostree,
        "commit",
        `--repo=${r}`,
        "-b",
        "bench",
        "-s",
        "v1",
        `--timestamp=${TIMESTAMP}`,
        tp,
      ]).trim();
      const v2 = sh([
        ostree,
        "commit",
        `--repo=${r}`,
        "-b",
        "bench",
        "-s",
        "v2",
        "--timestamp=2024-02-01 00:00:00 +0000",
        `--tree=dir=${tp}`,
        `--tree=dir=${ov}`,
      ]).trim();
      sh([ostree, "summary", `--repo=${r}`, "-u"]);
      return { repo: r, v1, v2 };
    });
  return { repo, small, served, work };
}

/** ostree init of a fresh empty repo (setup, not measured; the same for both tools). */
function initRepo(ostree, dir, mode) {
  const r = join(dir, "repo");
  mkdirSync(r);
  sh([ostree, "init", `--repo=${r}`, `--mode=${mode}`]);
  return r;
}

/** Repository-level scenarios on one input tree. */
export function repoScenarios({ ostree, kind, treePath, prep }) {
  const T = () => treePath(kind);
  const commit = (mode) => ({
    id: `commit-${mode}/${kind}`,
    title: `commit → ${mode} (${kind})`,
    coldable: true,
    setup: (dir) => ({ repo: initRepo(ostree, dir, mode), tree: T() }),
    cmd: both((s) => [
      "commit",
      `--repo=${s.repo}`,
      "-b",
      "bench",
      "-s",
      "bench",
      `--timestamp=${TIMESTAMP}`,
      s.tree,
    ]),
    fingerprint: (s) => readRef(s.repo),
  });
  return [
    commit("archive"),
    commit("bare-user"),
    {
      id: `checkout-hardlink/${kind}`,
      title: `checkout -U -H from bare-user (${kind})`,
      coldable: true,
      prepare: () => prep.repo(kind, "bare-user"),
      setup: (dir) => ({ repo: prep.repo(kind, "bare-user"), dest: join(dir, "co") }),
      cmd: both((s) => ["checkout", `--repo=${s.repo}`, "-U", "-H", "bench", s.dest]),
      fingerprint: (s) => treeManifest(s.dest),
    },
    {
      id: `checkout-archive/${kind}`,
      title: `checkout -U from archive (${kind})`,
      coldable: true,
      prepare: () => prep.repo(kind, "archive"),
      setup: (dir) => ({ repo: prep.repo(kind, "archive"), dest: join(dir, "co") }),
      cmd: both((s) => ["checkout", `--repo=${s.repo}`, "-U", "bench", s.dest]),
      fingerprint: (s) => treeManifest(s.dest),
    },
    {
      id: `fsck-bare-user/${kind}`,
      title: `fsck bare-user (${kind})`,
      coldable: true,
      prepare: () => prep.repo(kind, "bare-user"),
      setup: () => ({ repo: prep.repo(kind, "bare-user") }),
      cmd: both((s) => ["fsck", `--repo=${s.repo}`]),
      fingerprint: null,
    },
    {
      id: `fsck-archive/${kind}`,
      title: `fsck archive (${kind})`,
      coldable: true,
      prepare: () => prep.repo(kind, "archive"),
      setup: () => ({ repo: prep.repo(kind, "archive") }),
      cmd: both((s) => ["fsck", `--repo=${s.repo}`]),
      fingerprint: null,
    },
    {
      id: `pull-local/${kind}`,
      title: `pull-local archive → bare-user (${kind})`,
      coldable: true,
      prepare: () => prep.repo(kind, "archive"),
      setup: (dir) => ({ repo: initRepo(ostree, dir, "bare-user"), src: prep.repo(kind, "archive") }),
      cmd: both((s) => ["pull-local", `--repo=${s.repo}`, s.src, "bench"]),
      fingerprint: (s) => `${readRef(s.repo)?.slice(0, 16)}/${countObjects(s.repo)} objects`,
    },
  ];
}

/** Process startup: `rev-parse` on a tiny repo, many runs, with `node -e 0` as the floor. */
export function startupScenario({ prep, runs }) {
  return {
    id: "startup/rev-parse",
    title: "startup: rev-parse on a small repo",
    runs,
    coldable: false, // always warm: this measures process start, not disk
    warmup: true,
    prepare: () => prep.small(),
    setup: () => ({ repo: prep.small() }),
    cmd: both((s) => ["rev-parse", `--repo=${s.repo}`, "bench"]),
    fingerprint: (_s, r) => r.stdout.trim(),
    floor: { label: "node -e 0", argv: ["node", "-e", "0"] },
  };
}

/**
 * Pull over HTTP from nginx on 127.0.0.1 (enabled by --with-remote).
 * `server()` is provided by run.mjs: it starts nginx once (lazily) on the served
 * archive repo of this tree and returns its URL.
 * TODO(remote): once arbor's pull exists, also cover: a pull with --depth=1,
 * a pull of a signed commit (ed25519, `sign` + `remote add --sign-verify`),
 * a summary-only `remote refs`, and a pull through a slow/lossy link (tc netem).
 */
export function remoteScenarios({ ostree, kind, prep, server }) {
  const addRemote = (repo, url) =>
    sh([ostree, "remote", "add", `--repo=${repo}`, "--no-gpg-verify", "origin", url]);
  return [
    {
      id: `pull-http/${kind}`,
      title: `pull over HTTP, empty bare-user (${kind})`,
      coldable: true,
      prepare: async () => {
        prep.served(kind);
        await server(kind);
      },
      setup: async (dir) => {
        const repo = initRepo(ostree, dir, "bare-user");
        addRemote(repo, (await server(kind)).url);
        return { repo };
      },
      cmd: both((s) => ["pull", `--repo=${s.repo}`, "origin", "bench"]),
      fingerprint: (s) =>
        `${readRef(s.repo, "remotes/origin/bench")?.slice(0, 16)}/${countObjects(s.repo)} objects`,
    },
    {
      id: `pull-http-update/${kind}`,
      title: `pull over HTTP, update v1 → v2 (${kind})`,
      coldable: true,
      prepare: async () => {
        const { v1 } = prep.served(kind);
        const url = (await server(kind)).url;
        // A template repo holding v1, pulled once with ostree; each run copies it.
        const { work } = prep;
        const tpl = join(work, "prep", kind, "pulled-v1");
        if (!existsSync(tpl)) {
          mkdirSync(tpl, { recursive: true });
          sh([ostree, "init", `--repo=${tpl}`, "--mode=bare-user"]);
          addRemote(tpl, url);
          sh([ostree, "pull", `--repo=${tpl}`, "origin", `bench@${v1}`]);
        }
      },
      setup: (dir) => {
        const repo = join(dir, "repo");
        cpSync(join(prep.work, "prep", kind, "pulled-v1"), repo, {
          recursive: true,
          preserveTimestamps: true,
        });
        return { repo };
      },
      cmd: both((s) => ["pull", `--repo=${s.repo}`, "origin", "bench"]),
      fingerprint: (s) =>
        `${readRef(s.repo, "remotes/origin/bench")?.slice(0, 16)}/${countObjects(s.repo)} objects`,
    },
  ];
}

/** True when the tree has a kernel where `ostree admin deploy` looks for one. */
export function treeHasKernel(tree) {
  const mods = join(tree, "usr/lib/modules");
  if (existsSync(mods) && readdirSync(mods).some((k) => existsSync(join(mods, k, "vmlinuz")))) return true;
  const boot = join(tree, "boot");
  return existsSync(boot) && readdirSync(boot).some((f) => f.startsWith("vmlinuz-"));
}

/**
 * Sysroot scenarios (enabled by --with-admin). SKELETONS, not yet trustworthy:
 * TODO(admin): needs
 *   - a tree with a kernel (the `full` corpus: /boot/vmlinuz-*; ostree also
 *     accepts /usr/lib/modules/$kver/vmlinuz) and arbor's sysroot commands;
 *   - a decision on how the Debian tree is made deployable (/etc is moved to
 *     /usr/etc by deploy; /var content is ignored) so both tools see the same input;
 *   - `admin upgrade` needs an origin whose refspec resolves: today the sysroot
 *     repo gets the commit by pull-local with refspec `bench` (no remote), and v2
 *     is committed locally before the timed upgrade;
 *   - `admin drift` is arbor-only; ostree's nearest command is `admin config-diff`
 *     (/etc only), so that row is not a like-for-like ratio;
 *   - bootloader: none is configured (no /boot/loader), i.e. deploy writes BLS
 *     entries only; grub2/syslinux/uboot paths are not exercised.
 */
export function adminScenarios({ ostree, kind, treePath, prep }) {
  const skip = () =>
    treeHasKernel(treePath(kind)) ? null : `needs a tree with a kernel (use --corpus=full), ${kind} has none`;
  const makeSysroot = (dir) => {
    const sysroot = join(dir, "sysroot");
    mkdirSync(sysroot);
    sh([ostree, "admin", "init-fs", sysroot]);
    sh([ostree, "admin", "os-init", `--sysroot=${sysroot}`, "bench"]);
    sh([ostree, "pull-local", `--repo=${join(sysroot, "ostree/repo")}`, prep.repo(kind, "archive"), "bench"]);
    return sysroot;
  };
  const deploy = (sysroot) => sh([ostree, "admin", "deploy", `--sysroot=${sysroot}`, "--os=bench", "bench"]);
  const v2 = (sysroot) => {
    const repo = join(sysroot, "ostree/repo");
    const extra = join(sysroot, "..", "v2-extra");
    mkdirSync(join(extra, "usr/share/arbor-bench-v2"), { recursive: true });
    writeFileSync(join(extra, "usr/share/arbor-bench-v2/marker"), "v2\n");
    sh([
      ostree,
      "commit",
      `--repo=${repo}`,
      "-b",
      "bench",
      "-s",
      "v2",
      "--timestamp=2024-02-01 00:00:00 +0000",
      "--tree=ref=bench",
      `--tree=dir=${extra}`,
    ]);
  };
  return [
    {
      id: `admin-deploy/${kind}`,
      title: `admin deploy, first (${kind})`,
      coldable: true,
      skip,
      prepare: () => prep.repo(kind, "archive"),
      setup: (dir) => ({ sysroot: makeSysroot(dir) }),
      cmd: both((s) => ["admin", "deploy", `--sysroot=${s.sysroot}`, "--os=bench", "bench"]),
      fingerprint: null, // TODO(admin): compare the deployment checksum + bootcsum from `admin status --json`
    },
    {
      id: `admin-upgrade/${kind}`,
      title: `admin upgrade v1 → v2 (${kind})`,
      coldable: true,
      skip,
      prepare: () => prep.repo(kind, "archive"),
      setup: (dir) => {
        const sysroot = makeSysroot(dir);
        deploy(sysroot);
        v2(sysroot);
        return { sysroot };
      },
      // TODO(admin): a local refspec has no remote to pull from; --pull-only/--deploy-only
      // split may be needed to time the deploy half alone.
      cmd: both((s) => ["admin", "upgrade", `--sysroot=${s.sysroot}`, "--os=bench"]),
      fingerprint: null,
    },
    {
      id: `admin-drift/${kind}`,
      title: `admin drift vs config-diff (${kind})`,
      coldable: true,
      skip,
      prepare: () => prep.repo(kind, "archive"),
      setup: (dir) => {
        const sysroot = makeSysroot(dir);
        deploy(sysroot);
        // TODO(admin): inject a fixed set of /etc and /usr changes into the deployment here.
        return { sysroot };
      },
      cmd: {
        ostree: (s) => ["admin", "config-diff", `--sysroot=${s.sysroot}`, "--os=bench"],
        arbor: (s) => ["admin", "drift", `--sysroot=${s.sysroot}`, "--os=bench"],
      },
      fingerprint: null,
    },
  ];
}
