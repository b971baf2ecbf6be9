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
  rmSync,
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

/**
 * Returns the shared repo after undoing what a previous run may have added to
 * it: `ostree checkout -U` from an archive repo fills uncompressed-objects-cache/
 * (core.enable-uncompressed-cache defaults to true), which makes every later
 * checkout from that repo a hardlink farm, e.g. 34 s for the first run, 2 s
 * for the next. Each run must see the repo as it was made.
 */
export function pristine(repo) {
  rmSync(join(repo, "uncompressed-objects-cache"), { recursive: true, force: true });
  return repo;
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
      sh([ostree, ...benchCommitArgs(r, treePath(kind))]);
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
      sh([ostree, ...benchCommitArgs(r, t)]);
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

/** The arguments of the benchmark's `commit` of `tree` into `repo` (same for both tools). */
function benchCommitArgs(repo, tree, extra = []) {
  return [
    "commit",
    `--repo=${repo}`,
    "-b",
    "bench",
    "-s",
    "bench",
    `--timestamp=${TIMESTAMP}`,
    ...extra,
    tree,
  ];
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
    cmd: both((s) => benchCommitArgs(s.repo, s.tree)),
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
      note: "ostree also fills uncompressed-objects-cache (default on; removed before each run)",
      coldable: true,
      prepare: () => prep.repo(kind, "archive"),
      setup: (dir) => ({ repo: pristine(prep.repo(kind, "archive")), dest: join(dir, "co") }),
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
      setup: () => ({ repo: pristine(prep.repo(kind, "archive")) }),
      cmd: both((s) => ["fsck", `--repo=${s.repo}`]),
      fingerprint: null,
    },
    {
      id: `pull-local/${kind}`,
      title: `pull-local archive → bare-user (${kind})`,
      coldable: true,
      prepare: () => prep.repo(kind, "archive"),
      setup: (dir) => ({
        repo: initRepo(ostree, dir, "bare-user"),
        src: pristine(prep.repo(kind, "archive")),
      }),
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
 * Not measured here (the goals are set for these two rows): a pull with
 * --depth=1, a pull of a signed commit (ed25519, `sign` + `remote add
 * --sign-verify`), a summary-only `remote refs`, and a pull through a
 * slow/lossy link (tc netem).
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

/** The kernel version of a tree with /boot/vmlinuz-$kver (Debian) or /usr/lib/modules/$kver/vmlinuz, or null. */
export function treeKernel(tree) {
  const mods = join(tree, "usr/lib/modules");
  const k = existsSync(mods) && readdirSync(mods).find((v) => existsSync(join(mods, v, "vmlinuz")));
  if (k) return k;
  const boot = join(tree, "boot");
  const v = existsSync(boot) && readdirSync(boot).find((f) => f.startsWith("vmlinuz-"));
  return v ? v.slice("vmlinuz-".length) : null;
}

/**
 * A bare-user repo holding a deployable form of the tree as `bench` (made once
 * with ostree): a Debian root is not deployable as is (`admin deploy` fails
 * with "Failed to find kernel" for /boot/vmlinuz-$kver and "Preparing /etc: No
 * such file or directory: /usr/etc"), so a hardlink copy of the tree (cp -al;
 * the corpus itself is never written) gets etc/ moved to usr/etc/ and the
 * kernel + initrd copied to usr/lib/modules/$kver/{vmlinuz,initramfs.img}.
 */
function deployableRepo(ostree, prep, kind, treePath) {
  const base = join(prep.work, "prep", kind);
  const repo = join(base, "deployable-repo");
  if (existsSync(join(repo, "refs/heads/bench"))) return repo;
  const tree = treePath(kind);
  const kver = treeKernel(tree);
  const stage = join(base, "deployable-tree");
  mkdirSync(base, { recursive: true });
  sh(["cp", "-al", tree, stage]);
  if (existsSync(join(stage, "etc")) && !existsSync(join(stage, "usr/etc")))
    sh(["mv", join(stage, "etc"), join(stage, "usr/etc")]);
  const mod = join(stage, "usr/lib/modules", kver);
  if (!existsSync(join(mod, "vmlinuz"))) {
    mkdirSync(mod, { recursive: true });
    sh(["cp", join(stage, "boot", `vmlinuz-${kver}`), join(mod, "vmlinuz")]);
    const initrd = join(stage, "boot", `initrd.img-${kver}`);
    if (existsSync(initrd)) sh(["cp", initrd, join(mod, "initramfs.img")]);
  }
  mkdirSync(repo);
  sh([ostree, "init", `--repo=${repo}`, "--mode=bare-user"]);
  sh([ostree, ...benchCommitArgs(repo, stage)]);
  return repo;
}

/** The deployments of stateroot `bench` ("<checksum>.<serial>" dir names) and the BLS entry count. */
function deploymentFingerprint(sysroot) {
  const d = join(sysroot, "ostree/deploy/bench/deploy");
  const deps = existsSync(d)
    ? readdirSync(d)
        .filter((n) => !n.endsWith(".origin"))
        .sort()
    : [];
  const entries = join(sysroot, "boot/loader/entries");
  const n = existsSync(entries) ? readdirSync(entries).length : 0;
  return `${deps.map((x) => x.slice(0, 12)).join("+")}/${n} BLS`;
}

/**
 * Sysroot scenarios (enabled by --with-admin; need a tree with a kernel, i.e.
 * --corpus=full). All setup (init-fs, os-init, pull-local, earlier deploys,
 * v2 commit) is done with the real ostree; only the named command is timed.
 * Bootloader: none configured (no grub/syslinux/u-boot config), so deploy
 * writes BLS entries under boot/loader only.
 * Not covered here (left for later):
 *   - the fingerprint compares the deployment checksums and BLS entry count, not
 *     bootcsums or /etc contents;
 *   - `admin upgrade` resolves a local refspec (`bench`, no remote): an upgrade
 *     that pulls from nginx would need --with-remote's server, a sysroot remote
 *     and a pull/deploy split to time the two halves;
 *   - the `admin drift` row here is not like for like (ostree's nearest command,
 *     `admin config-diff`, reads /etc only); the managed rows below compare drift
 *     with `ostree fsck` of the same commit instead;
 *   - grub2/syslinux/uboot bootloader paths are not exercised.
 */
export function adminScenarios({ ostree, kind, treePath, prep }) {
  const skip = () =>
    treeKernel(treePath(kind)) ? null : `needs a tree with a kernel (use --corpus=full), ${kind} has none`;
  const repo = () => deployableRepo(ostree, prep, kind, treePath);
  const makeSysroot = (dir) => {
    const sysroot = join(dir, "sysroot");
    mkdirSync(sysroot);
    sh([ostree, "admin", "init-fs", sysroot]);
    sh([ostree, "admin", "os-init", `--sysroot=${sysroot}`, "bench"]);
    sh([ostree, "pull-local", `--repo=${join(sysroot, "ostree/repo")}`, repo(), "bench"]);
    return sysroot;
  };
  const deploy = (sysroot) => sh([ostree, "admin", "deploy", `--sysroot=${sysroot}`, "--os=bench", "bench"]);
  const commitV2 = (dir, sysroot) => {
    const extra = join(dir, "v2-extra");
    mkdirSync(join(extra, "usr/share/arbor-bench-v2"), { recursive: true });
    for (let i = 0; i < 50; i++)
      writeFileSync(join(extra, "usr/share/arbor-bench-v2", `f${i}`), `v2 ${i}\n`.repeat(200));
    sh([
      ostree,
      "commit",
      `--repo=${join(sysroot, "ostree/repo")}`,
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
      prepare: repo,
      setup: (dir) => ({ sysroot: makeSysroot(dir) }),
      cmd: both((s) => ["admin", "deploy", `--sysroot=${s.sysroot}`, "--os=bench", "bench"]),
      fingerprint: (s) => deploymentFingerprint(s.sysroot),
    },
    {
      id: `admin-upgrade/${kind}`,
      title: `admin upgrade v1 → v2, local ref (${kind})`,
      coldable: true,
      skip,
      prepare: repo,
      setup: (dir) => {
        const sysroot = makeSysroot(dir);
        deploy(sysroot);
        commitV2(dir, sysroot);
        return { sysroot };
      },
      cmd: both((s) => ["admin", "upgrade", `--sysroot=${s.sysroot}`, "--os=bench"]),
      fingerprint: (s) => deploymentFingerprint(s.sysroot),
    },
    {
      id: `admin-drift/${kind}`,
      title: `admin drift vs config-diff (${kind})`,
      coldable: true,
      skip,
      prepare: repo,
      setup: (dir) => {
        const sysroot = makeSysroot(dir);
        deploy(sysroot);
        // A fixed set of /etc changes in the deployment: 1 modified, 1 added, 1 removed.
        const d = join(sysroot, "ostree/deploy/bench/deploy");
        const etc = join(
          d,
          readdirSync(d).find((n) => !n.endsWith(".origin")),
          "etc",
        );
        writeFileSync(join(etc, "hostname"), "bench-host\n");
        writeFileSync(join(etc, "arbor-bench.conf"), "added=1\n");
        for (const victim of ["issue.net", "motd", "debian_version"]) {
          if (existsSync(join(etc, victim))) {
            sh(["rm", join(etc, victim)]);
            break;
          }
        }
        return { sysroot };
      },
      cmd: {
        ostree: (s) => ["admin", "config-diff", `--sysroot=${s.sysroot}`, "--os=bench"],
        arbor: (s) => ["admin", "drift", `--sysroot=${s.sysroot}`, "--os=bench"],
      },
      // the setup edits /etc, so drift is found: exit 1 by design (0 = clean, 2 = error)
      okCodes: { arbor: [1] },
      fingerprint: null,
      note: "not like for like: drift also checks the image (content) and /var; config-diff reads /etc only",
    },
  ];
}

/**
 * Managed-layer scenarios (enabled by --with-managed; the drift rows need a tree with a kernel,
 * i.e. --corpus=full). Not like-for-like commands, but the same work, which is what issue 5's
 * goals compare:
 *   - `admin drift` (content mode) verifies every file of a deployment against its commit:
 *     next to `ostree fsck` of the sysroot repository holding only that commit (goal ≤ 1.0);
 *   - `admin drift --quick` (metadata and inode identity): next to the same fsck (goal ≤ 0.2);
 *   - `compose` of the tree from a folder (`postprocess: none`, so the commit must equal
 *     ostree's) next to `ostree commit` of it into a fresh bare-user repo (goal ≤ 1.0); and the
 *     same compose with the OSTree postprocess (kernel, /etc, /var moved; a different commit).
 * The sysroot (init-fs, os-init, pull-local, deploy) is made once by the real ostree and only
 * read by the timed commands.
 */
export function managedScenarios({ ostree, kind, treePath, prep }) {
  const EPOCH = 1704067200; // TIMESTAMP as seconds
  const skip = () =>
    treeKernel(treePath(kind)) ? null : `needs a tree with a kernel (use --corpus=full), ${kind} has none`;
  let sysroot = null;
  const deployed = () => {
    if (sysroot) return sysroot;
    const repo = deployableRepo(ostree, prep, kind, treePath);
    const s = join(prep.work, "prep", kind, "managed-sysroot");
    mkdirSync(s, { recursive: true });
    sh([ostree, "admin", "init-fs", s]);
    sh([ostree, "admin", "os-init", `--sysroot=${s}`, "bench"]);
    sh([ostree, "pull-local", `--repo=${join(s, "ostree/repo")}`, repo, "bench"]);
    sh([ostree, "admin", "deploy", `--sysroot=${s}`, "--os=bench", "bench"]);
    sysroot = s;
    return s;
  };
  const drift = (quick) => ({
    id: `managed-drift${quick ? "-quick" : ""}/${kind}`,
    title: `admin drift${quick ? " --quick" : ""} vs fsck of the commit (${kind})`,
    coldable: true,
    skip,
    prepare: deployed,
    setup: () => ({ sysroot: deployed() }),
    cmd: {
      ostree: (s) => ["fsck", `--repo=${join(s.sysroot, "ostree/repo")}`],
      arbor: (s) => ["admin", "drift", `--sysroot=${s.sysroot}`, "--os=bench", ...(quick ? ["--quick"] : [])],
    },
    fingerprint: null,
    note: `arbor: admin drift${quick ? " --quick" : ""} (exit 0 = no drift); ostree: fsck; goal ≤ ${quick ? "0.2" : "1.0"}`,
  });
  const compose = (postprocess) => ({
    id: `managed-compose${postprocess === "none" ? "" : "-ostree"}/${kind}`,
    title: `compose (postprocess ${postprocess}) vs commit → bare-user (${kind})`,
    coldable: true,
    setup: (dir) => {
      const repo = initRepo(ostree, dir, "bare-user");
      const manifest = join(dir, "os.yaml");
      writeFileSync(
        manifest,
        JSON.stringify({
          ref: "bench",
          version: "1",
          subject: "bench",
          source_date_epoch: EPOCH,
          inputs: [{ dir: treePath(kind) }],
          postprocess,
        }),
      );
      return { repo, manifest };
    },
    cmd: {
      ostree: (s) => benchCommitArgs(s.repo, treePath(kind), ["--add-metadata-string=version=1"]),
      arbor: (s) => ["compose", `--repo=${s.repo}`, s.manifest],
    },
    fingerprint: postprocess === "none" ? (s) => readRef(s.repo) : null,
    note:
      postprocess === "none"
        ? "same manifest-declared commit as ostree's; goal ≤ 1.0"
        : "arbor also moves kernel, /etc and /var into OSTree layout: a different commit",
  });
  return [drift(false), drift(true), compose("none"), compose("ostree")];
}
