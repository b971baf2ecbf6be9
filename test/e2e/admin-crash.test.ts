/**
 * Crash safety of the boot switch: `kill -9` of `arbor admin` at fault points and at random moments
 * during deploy, undeploy, cleanup, set-default and kargs edit-in-place (≥ 100 kills in all).
 * After every kill:
 *  - every boot entry points (through its bootlink) to a complete deployment, and its kernel and
 *    initramfs are in /boot;
 *  - the deployment list is the old one or the new one, never a mix;
 *  - `arbor admin status` and `ostree admin status` both read the sysroot, identically;
 *  - running the same command again succeeds.
 * Run `npm run build` first: the killed processes run bin/arbor.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";
import { Sysroot } from "../../src/sysroot/sysroot.js";
import { ARBOR, hasOstree, ok, ostree } from "../helpers/cli.js";
import { commitOs, makeOsTree, makeSysroot, tempDir } from "../unit/sysroot/_fixtures.js";

const ENV = { ARBOR_UNSAFE_NO_SYNC: "1" };
const BASE_FAULTS = [
  "bootswap.kernel-installed",
  "bootswap.entry-written:1",
  "bootswap.entry-written:2",
  "bootswap.bootlinks-written",
  "bootswap.before-swap",
  "bootswap.after-swap",
  "cleanup.deployment-removed",
  "atomic-write.before-rename:1",
  "atomic-write.before-rename:2",
  "atomic-write.after-rename:1",
];

/** In-process `arbor …` (fast); returns exit code and output. */
async function arborIn(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(args, {
    env: { ...process.env, ...ENV },
    stdout: {
      write: (c) => {
        out += c.toString();
      },
    },
    stderr: {
      write: (c) => {
        err += c.toString();
      },
    },
  });
  return { code, out, err };
}

/** Run bin/arbor; kill it at `delayMs` if given. Resolves with how it ended. */
function spawnArbor(
  args: string[],
  fault: string | null,
  delayMs: number | null,
): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(ARBOR, args, {
      env: { ...process.env, ...ENV, ...(fault ? { ARBOR_FAULT: fault } : {}) },
      stdio: "ignore",
    });
    const timer = delayMs === null ? null : setTimeout(() => child.kill("SIGKILL"), delayMs);
    child.on("exit", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ killed: signal === "SIGKILL", code });
    });
  });
}

interface Entry {
  id: string;
  options: string;
}

/** The live deployment list as (stateroot, checksum.serial) plus options, checked for completeness. */
function checkEntries(path: string, usrListing: string[]): Entry[] {
  const s = Sysroot.load(path);
  const out: Entry[] = [];
  for (const d of s.deployments) {
    const root = s.deploymentPath(d);
    const bc = d.bootconfig!;
    const link = /ostree=(\S+)/.exec(bc.get("options")!)![1]!;
    expect(readlinkSync(join(path, link)), `bootlink ${link}`).toBe(
      `../../../deploy/${d.osname}/deploy/${d.csum}.${d.deployserial}`,
    );
    expect(listing(join(root, "usr")), `deployment ${root} is complete`).toEqual(usrListing);
    expect(existsSync(`${root}.origin`), `origin of ${root}`).toBe(true);
    expect(readFileSync(join(root, "etc/os-release"), "utf8")).toContain("PRETTY_NAME");
    for (const key of ["linux", "initrd"]) {
      const f = join(path, "boot", bc.get(key)!);
      expect(statSync(f).size, `${key} of ${root}`).toBeGreaterThan(0);
    }
    out.push({
      id: `${d.osname}/${d.csum}.${d.deployserial}`,
      options: bc.get("options")!.replace(/ostree=\S+/, ""),
    });
  }
  return out;
}

function listing(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : 1,
  )) {
    const p = `${rel}/${e.name}`;
    out.push(p);
    if (e.isDirectory()) out.push(...listing(dir, p));
  }
  return out;
}

describe.skipIf(!hasOstree || !existsSync(join(import.meta.dirname, "../../dist-cjs/cli/main.js")))(
  "kill -9 during admin commands",
  () => {
    let t: Awaited<ReturnType<typeof tempDir>>;
    let template: string;
    let usrListing: string[];
    let kills = 0;
    const revs = { old: "", stable: "" };
    /** The branch whose commit is not the default deployment's (deploying it rewrites the entries). */
    const otherRef = (path: string): string =>
      Sysroot.load(path).deployments[0]!.csum === revs.stable ? "testos/old" : "testos/stable";
    const counts: Record<string, number> = {};
    const started = Date.now();

    beforeAll(async () => {
      t = tempDir("arbor-admin-crash-");
      template = makeSysroot(t.dir);
      // two commits with different kernels, so switching between them rewrites the boot entries
      makeOsTree(join(t.dir, "tree1"));
      makeOsTree(join(t.dir, "tree2"), { kernel: "another kernel\n" });
      revs.old = await commitOs(join(template, "ostree/repo"), join(t.dir, "tree1"), {
        branch: "testos/old",
        version: "1",
      });
      revs.stable = await commitOs(join(template, "ostree/repo"), join(t.dir, "tree2"), { version: "2" });
      for (const ref of ["testos/old", "testos/stable"]) {
        const r = await arborIn([
          "admin",
          "deploy",
          `--sysroot=${template}`,
          "--os=testos",
          "--karg=root=LABEL=root",
          "--retain",
          ref,
        ]);
        expect(r.code, r.err).toBe(0);
      }
      const s = Sysroot.load(template);
      usrListing = listing(join(s.deploymentPath(s.deployments[0]!), "usr"));
    });
    afterAll(async () => {
      console.log(
        `admin crash test: ${kills} kills in ${((Date.now() - started) / 1000).toFixed(0)} s`,
        counts,
      );
      await t.cleanup();
      expect(kills).toBeGreaterThanOrEqual(100);
    });

    /** A private copy of the template sysroot for one scenario (scenarios run concurrently). */
    function sysrootCopy(name: string): string {
      const p = join(t.dir, name);
      expect(spawnSync("cp", ["-a", template, p]).status).toBe(0);
      return p;
    }

    /** How long each command takes when not killed (ms), to spread random kills over its run. */
    const duration: Record<string, number> = {};

    /**
     * Kill `args` once — at `fault`, or at a random moment of its run (retried until a kill lands) —
     * then check, re-run, check.
     */
    async function killAndCheck(
      path: string,
      label: string,
      args: string[],
      fault: string | null,
      acceptable: (before: Entry[], after: Entry[]) => boolean,
      prepare?: () => Promise<void>,
    ): Promise<void> {
      const full = [...args, `--sysroot=${path}`];
      for (let attempt = 0; attempt < 8; attempt++) {
        // a random kill may miss (the command ends first): each attempt starts from a prepared state
        await prepare?.();
        const before = checkEntries(path, usrListing);
        const startedAt = Date.now();
        const d = duration[label] ?? 1000;
        const r = await spawnArbor(full, fault, fault ? null : Math.floor(Math.random() * d));
        if (!r.killed) duration[label] = Date.now() - startedAt;
        const after = checkEntries(path, usrListing);
        expect(
          acceptable(before, after),
          `${label} ${fault ?? "random"}: list is neither old nor new:\n${JSON.stringify(before)}\n${JSON.stringify(after)}`,
        ).toBe(true);
        const mine = await arborIn(["admin", "status", `--sysroot=${path}`]);
        expect(mine.code, mine.err).toBe(0);
        expect(ok(ostree(["admin", "status", `--sysroot=${path}`]))).toBe(mine.out.trim());
        const again = await arborIn(full);
        expect(again.code, `re-running ${full.join(" ")}: ${again.err}`).toBe(0);
        checkEntries(path, usrListing);
        if (r.killed) {
          kills++;
          counts[label] = (counts[label] ?? 0) + 1;
          return;
        }
        expect(fault, `fault point ${fault} of ${label} was never reached`).toBeNull();
      }
    }

    const same = (a: Entry[], b: Entry[]): boolean => JSON.stringify(a) === JSON.stringify(b);

    async function ensureDeployments(path: string, n: number): Promise<void> {
      while (Sysroot.load(path).deployments.length < n) {
        const r = await arborIn([
          "admin",
          "deploy",
          `--sysroot=${path}`,
          "--os=testos",
          "--retain",
          otherRef(path),
        ]);
        expect(r.code, r.err).toBe(0);
      }
    }

    const LONG = { timeout: 600_000 };

    it.concurrent("deploy", LONG, async () => {
      const path = sysrootCopy("deploy");
      const deployOk = (b: Entry[], a: Entry[]): boolean =>
        same(b, a) ||
        (a.length === Math.min(b.length + 1, 2) &&
          a[1]?.id === b[0]?.id &&
          !b.some((x) => x.id === a[0]!.id));
      const faults = [
        ...BASE_FAULTS,
        "deploy.checked-out",
        "deploy.etc-merged",
        "deploy.origin-written",
        "deploy.sealed",
        "atomic-write.before-rename:3",
      ];
      let i = 0;
      for (const f of [...faults, ...Array(18).fill(null)]) {
        // fault points: always a different commit (full entry rewrite); random kills: alternate
        // with redeploying the same commit (the bootlink-only swap)
        const ref = f !== null || i++ % 2 === 0 ? otherRef(path) : "testos/stable";
        await killAndCheck(path, "deploy", ["admin", "deploy", "--os=testos", ref], f, deployOk);
      }
    });

    it.concurrent("undeploy", LONG, async () => {
      const path = sysrootCopy("undeploy");
      const undeployOk = (b: Entry[], a: Entry[]): boolean => same(b, a) || same([b[0]!, ...b.slice(2)], a);
      for (const f of [...BASE_FAULTS, ...Array(12).fill(null)]) {
        // undeploy is not idempotent: the run and its re-run each remove one deployment
        await killAndCheck(path, "undeploy", ["admin", "undeploy", "1"], f, undeployOk, () =>
          ensureDeployments(path, 4),
        );
      }
    });

    it.concurrent("set-default", LONG, async () => {
      const path = sysrootCopy("set-default");
      await ensureDeployments(path, 3);
      // the re-run swaps back; each kill is judged against the state right before it
      const swapOk = (b: Entry[], a: Entry[]): boolean =>
        same(b, a) || same([b[1]!, b[0]!, ...b.slice(2)], a);
      // (set-default deletes no deployment, so cleanup.deployment-removed is never reached)
      const faults = BASE_FAULTS.filter((f) => f !== "cleanup.deployment-removed");
      for (const f of [...faults, ...Array(13).fill(null)]) {
        await killAndCheck(path, "set-default", ["admin", "set-default", "1"], f, swapOk);
      }
    });

    it.concurrent("cleanup", LONG, async () => {
      const path = sysrootCopy("cleanup");
      for (const f of [
        "cleanup.deployment-removed",
        "cleanup.deployment-removed:2",
        ...Array(10).fill(null),
      ]) {
        // leave garbage: a deploy killed just before its boot swap (not counted as a kill here),
        // and a second unreferenced copy of what it left
        const g = await spawnArbor(
          ["admin", "deploy", "--os=testos", "--retain", otherRef(path), `--sysroot=${path}`],
          "bootswap.before-swap",
          null,
        );
        expect(g.killed).toBe(true);
        const dir = join(path, "ostree/deploy/testos/deploy");
        const live0 = new Set(Sysroot.load(path).deployments.map((d) => `${d.csum}.${d.deployserial}`));
        const orphan = readdirSync(dir).find((n) => !n.endsWith(".origin") && !live0.has(n))!;
        const copy = orphan.replace(/\.\d+$/, ".999");
        expect(spawnSync("cp", ["-a", join(dir, orphan), join(dir, copy)]).status).toBe(0);
        expect(
          spawnSync("cp", ["-a", join(dir, `${orphan}.origin`), join(dir, `${copy}.origin`)]).status,
        ).toBe(0);
        const live = Sysroot.load(path).deployments.length;
        expect(readdirSync(join(path, "ostree/deploy/testos/deploy")).length).toBeGreaterThan(live * 2);
        await killAndCheck(path, "cleanup", ["admin", "cleanup"], f, same);
        expect(readdirSync(join(path, "ostree/deploy/testos/deploy")).length).toBe(live * 2);
      }
    });

    it.concurrent("kargs edit-in-place", LONG, async () => {
      const path = sysrootCopy("kargs");
      await ensureDeployments(path, 2);
      let n = 0;
      // entries are rewritten one at a time (as ostree does): each is old or new
      const kargsOk = (b: Entry[], a: Entry[]): boolean =>
        b.length === a.length &&
        b.every(
          (x, i) => x.id === a[i]!.id && (a[i]!.options === x.options || a[i]!.options.startsWith(x.options)),
        );
      for (const f of [
        "kargs.entry-rewritten:1",
        "kargs.entry-rewritten:2",
        "atomic-write.before-rename:1",
        "atomic-write.after-rename:2",
        ...Array(10).fill(null),
      ]) {
        n++;
        await killAndCheck(
          path,
          "kargs",
          ["admin", "kargs", "edit-in-place", `--append-if-missing=k${n}=v`],
          f,
          kargsOk,
        );
      }
      // the sysroot is still healthy for ostree itself
      ok(ostree(["admin", "deploy", `--sysroot=${path}`, "--os=testos", "testos/stable"]));
      expect(spawnSync(ARBOR, ["admin", "status", `--sysroot=${path}`]).status).toBe(0);
    });
  },
);
