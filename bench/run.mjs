#!/usr/bin/env node
// Side-by-side timings of arbor against the real ostree, reported as ratios.
// Usage: node bench/run.mjs [--only=REGEX] [--runs=N] [--corpus=generated|minbase|full|all[,…]]
//        [--quick] [--drop-caches] [--with-remote] [--with-admin] [--with-managed] [--startup-runs=N]
//        [--timeout=S] [--keep]
// Env: ARBOR_BIN (default <repo>/bin/arbor), OSTREE_BIN (default ostree),
//      ARBOR_CORPUS_DIR (default /var/tmp/arbor-corpus), BENCH_RUNS, BENCH_DROP_CACHES=1,
//      BENCH_TMPDIR (default /var/tmp). See bench/README.md.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, hostname, loadavg, release, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CORPUS_DIR, ensureTree } from "./lib/corpus.mjs";
import { ensureGnuTime, firstLine, median, runMeasured, settle } from "./lib/measure.mjs";
import { startNginx } from "./lib/nginx.mjs";
import {
  adminScenarios,
  makePrep,
  managedScenarios,
  remoteScenarios,
  repoScenarios,
  startupScenario,
} from "./scenarios.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..");
const TOOLS = ["ostree", "arbor"];

function parseArgs(argv) {
  const o = {
    only: null,
    runs: Number(process.env.BENCH_RUNS) || null,
    corpus: null,
    quick: false,
    dropCaches: process.env.BENCH_DROP_CACHES === "1",
    withRemote: false,
    withAdmin: false,
    withManaged: false,
    startupRuns: null,
    timeoutS: 1800,
    keep: false,
  };
  for (const a of argv) {
    const [k, v] = a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, null];
    if (k === "--only") o.only = new RegExp(v);
    else if (k === "--runs") o.runs = Number(v);
    else if (k === "--corpus") o.corpus = v;
    else if (k === "--quick") o.quick = true;
    else if (k === "--drop-caches") o.dropCaches = true;
    else if (k === "--with-remote") o.withRemote = true;
    else if (k === "--with-admin") o.withAdmin = true;
    else if (k === "--with-managed") o.withManaged = true;
    else if (k === "--startup-runs") o.startupRuns = Number(v);
    else if (k === "--timeout") o.timeoutS = Number(v);
    else if (k === "--keep") o.keep = true;
    else if (k === "--help" || k === "-h") {
      console.log(readUsage());
      process.exit(0);
    } else {
      console.error(`bench: unknown option ${a}\n${readUsage()}`);
      process.exit(2);
    }
  }
  if (o.quick) o.corpus ??= "generated";
  o.runs ??= o.quick ? 1 : 3;
  o.startupRuns ??= o.quick ? 10 : 50;
  o.corpus ??= "generated,minbase";
  const kinds = o.corpus === "all" ? ["generated", "minbase", "full"] : o.corpus.split(",");
  for (const k of kinds) {
    if (!["generated", "minbase", "full"].includes(k)) {
      console.error(`bench: --corpus must be generated, minbase, full or all (got "${k}")`);
      process.exit(2);
    }
  }
  if (!(o.runs >= 1) || !(o.startupRuns >= 1)) {
    console.error("bench: --runs and --startup-runs must be >= 1");
    process.exit(2);
  }
  o.kinds = kinds;
  return o;
}

function readUsage() {
  return `usage: node bench/run.mjs [--only=REGEX] [--runs=N] [--corpus=generated|minbase|full|all[,…]]
                          [--quick] [--drop-caches] [--with-remote] [--with-admin] [--with-managed]
                          [--startup-runs=N] [--timeout=SECONDS] [--keep]
  --quick         generated tree only, 1 run, 10 startup runs (smoke test)
  --corpus        input trees (default generated,minbase); built if absent under $ARBOR_CORPUS_DIR
  --drop-caches   sync; echo 3 > /proc/sys/vm/drop_caches before each run (root; default off)
  --with-managed  admin drift (content, --quick) vs fsck, compose vs commit (drift needs --corpus=full)
  env ARBOR_BIN, OSTREE_BIN, ARBOR_CORPUS_DIR, BENCH_RUNS, BENCH_DROP_CACHES=1, BENCH_TMPDIR`;
}

const cmdOut = (argv) => {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
};

/** "2022.7" from ostree's `--version` (YAML-ish "Version: '2022.7'"), else its first line. */
function versionOf(bin) {
  const out = cmdOut([bin, "--version"]);
  if (out == null) return "unavailable";
  return out.match(/Version:\s*'?([^'\n]+)'?/)?.[1] ?? out.split("\n")[0];
}

function machineInfo() {
  const mem = cmdOut(["free", "-m"]);
  return {
    hostname: hostname(),
    kernel: release(),
    nproc: Number(cmdOut(["nproc"])) || cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    memTotalMB: Math.round(totalmem() / 2 ** 20),
    loadavgAtStart: loadavg()[0],
    free: mem,
  };
}

function treeInfo(path) {
  const du = cmdOut(["du", "-sb", path]);
  const n = cmdOut(["sh", "-c", `find '${path}' | wc -l`]);
  return { path, bytes: du ? Number(du.split(/\s/)[0]) : null, entries: n ? Number(n) : null };
}

/** rm -rf that also handles deployments, which ostree makes immutable (chattr +i). */
function removeTree(dir) {
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    // EPERM on an immutable dir surfaces as EPERM or ENOTDIR from Node's rimraf.
    spawnSync("chattr", ["-R", "-f", "-i", dir]);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      console.error(`bench: warning: cannot remove ${dir}: ${err.message}`);
    }
  }
}

const fmtS = (s) => (s == null ? "—" : s < 1 ? s.toFixed(3) : s.toFixed(2));
const fmtMB = (kb) => (kb == null ? "—" : (kb / 1024).toFixed(0));

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  ensureGnuTime();
  const bins = {
    ostree: process.env.OSTREE_BIN || "ostree",
    arbor: process.env.ARBOR_BIN
      ? process.env.ARBOR_BIN.includes("/")
        ? resolve(process.env.ARBOR_BIN)
        : process.env.ARBOR_BIN
      : join(ROOT, "bin/arbor"),
  };
  const tmpBase = process.env.BENCH_TMPDIR || "/var/tmp";
  const work = mkdtempSync(join(tmpBase, "arbor-bench."));
  const scratch = join(work, "scratch");
  mkdirSync(scratch);
  const servers = new Map();
  const cleanup = async () => {
    for (const s of servers.values()) await (await s).stop();
    if (!opt.keep) removeTree(work);
  };
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, async () => {
      await cleanup();
      process.exit(130);
    });
  }

  const trees = {};
  const treePath = (kind) => {
    trees[kind] ??= ensureTree(kind, ROOT);
    return trees[kind];
  };
  const prep = makePrep({ ostree: bins.ostree, work, treePath });
  const server = (kind) => {
    if (!servers.has(kind)) {
      const dir = join(work, `nginx-${kind}`);
      servers.set(kind, startNginx({ root: prep.served(kind).repo, dir }));
    }
    return servers.get(kind);
  };

  // Scenario list, in report order.
  const scenarios = [startupScenario({ prep, runs: opt.startupRuns })];
  for (const kind of opt.kinds) {
    scenarios.push(...repoScenarios({ ostree: bins.ostree, kind, treePath, prep }));
    if (opt.withRemote) scenarios.push(...remoteScenarios({ ostree: bins.ostree, kind, prep, server }));
    if (opt.withAdmin) scenarios.push(...adminScenarios({ ostree: bins.ostree, kind, treePath, prep }));
    if (opt.withManaged) scenarios.push(...managedScenarios({ ostree: bins.ostree, kind, treePath, prep }));
  }
  const selected = scenarios.filter((s) => !opt.only || opt.only.test(s.id) || opt.only.test(s.title));
  const skippedByDefault = [
    !opt.withRemote && "remote pulls (--with-remote)",
    !opt.withAdmin && "admin deploy/upgrade/drift (--with-admin)",
    !opt.withManaged && "managed drift/compose (--with-managed)",
  ].filter(Boolean);

  const meta = {
    date: new Date().toISOString(),
    machine: machineInfo(),
    node: process.version,
    ostree: { bin: bins.ostree, version: versionOf(bins.ostree) },
    arbor: { bin: bins.arbor, version: versionOf(bins.arbor) },
    runs: opt.runs,
    startupRuns: opt.startupRuns,
    cache: opt.dropCaches
      ? "dropped before every run (sync; echo 3 > /proc/sys/vm/drop_caches); startup runs stay warm"
      : "warm: not dropped (sync before every run)",
    corpusDir: CORPUS_DIR,
    trees: {},
    skippedByDefault,
  };
  console.error(
    `bench: work dir ${work}; ostree=${bins.ostree} arbor=${bins.arbor}; runs=${opt.runs}; cache ${meta.cache}`,
  );

  const results = [];
  let n = 0;
  for (const sc of selected) {
    n++;
    const res = {
      id: sc.id,
      title: sc.title,
      runs: { ostree: [], arbor: [] },
      fingerprints: { ostree: [], arbor: [] },
      error: { ostree: null, arbor: null },
      notes: [],
    };
    results.push(res);
    const tag = `[${n}/${selected.length}] ${sc.id}`;
    const skipReason = sc.skip?.();
    if (skipReason) {
      res.skipped = skipReason;
      console.error(`${tag}: skipped: ${skipReason}`);
      continue;
    }
    try {
      await sc.prepare?.();
      const kind = sc.id.split("/")[1];
      if (trees[kind] && !meta.trees[kind]) meta.trees[kind] = treeInfo(trees[kind]);
    } catch (err) {
      res.skipped = `setup failed: ${String(err.message || err).split("\n")[0]}`;
      console.error(`${tag}: ${res.skipped}`);
      continue;
    }
    const runs = sc.runs ?? opt.runs;
    const cold = opt.dropCaches && sc.coldable;
    const runOne = async (tool, i, measured = true) => {
      const dir = mkdtempSync(join(work, `run-${tool}-`));
      try {
        const state = await sc.setup(dir, tool);
        settle({ dropCaches: cold });
        const r = await runMeasured([bins[tool], ...sc.cmd[tool](state)], {
          cwd: dir,
          timeoutS: opt.timeoutS,
          scratch,
        });
        if (!measured) return;
        // a scenario may accept other exit codes (admin drift exits 1 when it finds drift)
        const accepted = !r.timedOut && !r.signal && (sc.okCodes?.[tool] ?? []).includes(r.code);
        if (!r.ok && !accepted) {
          res.error[tool] = firstLine(r);
          console.error(`${tag}: ${tool} failed: ${res.error[tool]}`);
          return;
        }
        res.runs[tool].push({ wallS: r.wallS, rssKB: r.rssKB });
        if (sc.fingerprint) res.fingerprints[tool].push(sc.fingerprint(state, r));
        if (runs <= 5 || i === runs - 1) {
          console.error(`${tag}: ${tool} #${i + 1} ${fmtS(r.wallS)} s, ${fmtMB(r.rssKB)} MB`);
        }
      } catch (err) {
        res.error[tool] = `setup failed: ${String(err.message || err).split("\n")[0]}`;
        console.error(`${tag}: ${tool} ${res.error[tool]}`);
      } finally {
        removeTree(dir);
      }
    };
    if (sc.warmup) for (const tool of TOOLS) await runOne(tool, -1, false);
    const floorRuns = [];
    // Alternate ostree, arbor, ostree, arbor… so drift in machine state hits both.
    for (let i = 0; i < runs; i++) {
      for (const tool of TOOLS) if (!res.error[tool]) await runOne(tool, i);
      if (sc.floor) {
        const r = await runMeasured(sc.floor.argv, { cwd: work, timeoutS: 60, scratch });
        if (r.ok) floorRuns.push(r.wallS);
      }
    }
    for (const tool of TOOLS) {
      res[tool] = {
        medianS: median(res.runs[tool].map((r) => r.wallS)),
        peakRssKB: res.runs[tool].length ? Math.max(...res.runs[tool].map((r) => r.rssKB ?? 0)) : null,
      };
      if (res.error[tool]) res[tool].medianS = null;
    }
    res.ratio = res.ostree.medianS && res.arbor.medianS ? res.arbor.medianS / res.ostree.medianS : null;
    // "same checksum": ✓ all runs of both tools agree, ✗ they differ, — not comparable.
    const fps = [...res.fingerprints.ostree, ...res.fingerprints.arbor];
    if (!sc.fingerprint || res.error.ostree || res.error.arbor || !res.fingerprints.arbor.length)
      res.same = null;
    else res.same = fps.every((f) => f != null && f === fps[0]);
    if (res.same === false) {
      res.notes.push(
        `ostree: ${[...new Set(res.fingerprints.ostree)].join(",")} arbor: ${[...new Set(res.fingerprints.arbor)].join(",")}`,
      );
    }
    if (sc.floor && floorRuns.length) {
      res.floor = { label: sc.floor.label, medianS: median(floorRuns) };
      const a = res.arbor.medianS;
      res.notes.push(
        `${sc.floor.label}: ${(res.floor.medianS * 1000).toFixed(1)} ms` +
          (a != null ? `; arbor − node = ${((a - res.floor.medianS) * 1000).toFixed(1)} ms` : ""),
      );
    }
    if (sc.coldable === false && opt.dropCaches) res.notes.push("warm cache");
    if (sc.note) res.notes.push(sc.note);
    for (const tool of TOOLS) if (res.error[tool]) res.notes.unshift(`${tool} failed: ${res.error[tool]}`);
  }
  await cleanup();
  meta.machine.loadavgAtEnd = loadavg()[0];

  const md = renderMarkdown(meta, results);
  const stamp = meta.date.replace(/[:.]/g, "-");
  const outDir = join(HERE, "results");
  mkdirSync(outDir, { recursive: true });
  const json = JSON.stringify({ meta, results }, null, 2);
  writeFileSync(join(outDir, `${stamp}.json`), json);
  writeFileSync(join(outDir, `${stamp}.md`), md);
  writeFileSync(join(outDir, "latest.json"), json);
  writeFileSync(join(outDir, "latest.md"), md);
  console.log(md);
  console.error(`bench: results in ${join(outDir, `${stamp}.{json,md}`)} (and latest.*)`);
}

function renderMarkdown(meta, results) {
  const m = meta.machine;
  const lines = [
    `# arbor vs ostree — ${meta.date}`,
    "",
    `- machine: ${m.hostname}, ${m.nproc} cores (${m.cpu}), ${m.memTotalMB} MB RAM, Linux ${m.kernel}, Node ${meta.node}`,
    `- ostree ${meta.ostree.version} (${meta.ostree.bin}); arbor: ${meta.arbor.bin} (${meta.arbor.version})`,
    `- runs per tool: ${meta.runs} (startup: ${meta.startupRuns}), alternating ostree/arbor; medians; peak RSS = max over runs`,
    `- page cache: ${meta.cache}`,
    `- 1-min load average: ${m.loadavgAtStart.toFixed(1)} at start, ${m.loadavgAtEnd.toFixed(1)} at end` +
      (Math.max(m.loadavgAtStart, m.loadavgAtEnd) > m.nproc * 0.75
        ? ` — **the machine was busy (${m.nproc} cores): these numbers are unreliable**`
        : ""),
    ...Object.entries(meta.trees).map(
      ([k, t]) =>
        `- tree ${k}: ${t.path}, ${t.bytes != null ? (t.bytes / 1e6).toFixed(0) : "?"} MB, ${t.entries} entries`,
    ),
    ...(meta.skippedByDefault.length ? [`- not run: ${meta.skippedByDefault.join("; ")}`] : []),
    "",
    "| scenario | ostree median s | arbor median s | arbor/ostree | ostree peak RSS MB | arbor peak RSS MB | same checksum | notes |",
    "|---|---:|---:|---:|---:|---:|:---:|---|",
  ];
  for (const r of results) {
    if (r.skipped) {
      lines.push(`| ${r.title} | — | — | — | — | — | — | skipped: ${r.skipped} |`);
      continue;
    }
    const same = r.same == null ? "—" : r.same ? "✓" : "✗";
    const notes = r.notes.join("; ").replace(/\|/g, "\\|");
    lines.push(
      `| ${r.title} | ${fmtS(r.ostree.medianS)} | ${fmtS(r.arbor.medianS)} | ${r.ratio == null ? "—" : r.ratio.toFixed(2)} | ` +
        `${fmtMB(r.ostree.peakRssKB)} | ${fmtMB(r.arbor.peakRssKB)} | ${same} | ${notes} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}

main().catch((err) => {
  console.error(`bench: ${err.stack || err}`);
  process.exit(1);
});
