/**
 * A sysroot: the physical root holding `ostree/repo`, `ostree/deploy/*` and `boot/` (fact sheet §7).
 *
 * Invariant this module relies on (and bootswap.ts maintains): the boot loader entries are the
 * source of truth. `boot/loader` → `loader.BV` names the live entry set, each entry's `ostree=`
 * argument names a bootlink `/ostree/boot.BV/OS/BOOTCSUM/SERIAL` that resolves to a complete
 * deployment directory. Anything not reachable that way (half-written checkouts, old bootlink
 * farms, unreferenced kernels) is garbage that cleanup removes, and is never read here.
 *
 * Loading (§7.8): BV = target of `boot/loader` (absent → 0), SUB = suffix of `ostree/boot.BV`
 * (absent → 0), entries sorted by `version` descending (strverscmp), a staged deployment from
 * `/run/ostree/staged-deployment` first when booted.
 */
import {
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  type Stats,
  statSync,
  utimesSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { Repo } from "../repo/repo.js";
import { BootConfig, isBlsEntryName, strverscmp } from "./bootconfig.js";
import {
  type Deployment,
  deploymentEqual,
  deploymentRelPath,
  newDeployment,
  originRelPath,
  parseDeployName,
} from "./deployment.js";
import { parseOrigin } from "./origin.js";
import type { DirtreeCache } from "./prune-repo.js";
import { readStagedDeployment } from "./staged-file.js";
import { parseDebugFlags, type RunPaths, runPaths, type SysrootDebugFlags } from "./sysroot-env.js";

export { parseDebugFlags, type RunPaths, type SysrootDebugFlags } from "./sysroot-env.js";

/** Options for {@link Sysroot.load}. */
export interface SysrootLoadOptions {
  /** Debug flags; default from `env.OSTREE_SYSROOT_DEBUG`. */
  debug?: SysrootDebugFlags;
  /** Environment (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where runtime state lives (`/run`); tests point it elsewhere. */
  runDir?: string;
  /** The root directory used to detect a booted system (default `/`). */
  rootDir?: string;
  /**
   * Treat the sysroot as booted without checking that it is `/` (tests: with `rootDir` set to a
   * deployment directory, that deployment is the booted one).
   */
  forceBooted?: boolean;
}

function sysrootError(message: string, cause?: unknown): ArborError {
  return new ArborError("SYSROOT", message, cause === undefined ? undefined : { cause });
}

/** A loaded sysroot. Reload with {@link Sysroot.reload} after writing. */
export class Sysroot {
  /** Absolute path of the sysroot. */
  readonly path: string;
  readonly debug: SysrootDebugFlags;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly run: RunPaths;
  bootversion = 0;
  subbootversion = 0;
  /** Deployments, default first (a staged one, if any, before it). */
  deployments: Deployment[] = [];
  booted: Deployment | null = null;
  staged: Deployment | null = null;
  /** The raw staged-deployment record, when there is one. */
  stagedData: Map<string, unknown> | null = null;
  /** True when this sysroot is `/` of a system booted through ostree. */
  readonly isBooted: boolean;
  /** The running system's root (`/`): a booted deployment's /var is `ROOT/var`. */
  readonly rootDir: string;
  /** Dirtrees decoded by this command's walks (whiteouts, prune), shared between them. */
  readonly dirtrees: DirtreeCache = new Map();
  private readonly rootStat: Stats | null;
  private repoCache: Repo | undefined;

  private constructor(path: string, o: SysrootLoadOptions) {
    this.path = resolve(path);
    this.env = o.env ?? process.env;
    this.debug = o.debug ?? parseDebugFlags(this.env.OSTREE_SYSROOT_DEBUG);
    this.run = runPaths(o.runDir ?? "/run");
    this.rootDir = o.rootDir ?? "/";
    let rootStat: Stats | null = null;
    try {
      rootStat = statSync(this.rootDir);
    } catch {}
    this.rootStat = rootStat;
    let booted = false;
    try {
      statSync(this.run.booted);
      const self = statSync(this.path);
      booted = rootStat !== null && self.dev === rootStat.dev && self.ino === rootStat.ino;
    } catch {}
    this.isBooted = booted || o.forceBooted === true;
  }

  /**
   * Open and load a sysroot.
   * @throws ArborError NOT_FOUND (no such directory, no `ostree/repo` or `ostree/deploy`), SYSROOT
   *   (an entry that does not parse or points nowhere), BAD_CONFIG (a broken origin file).
   */
  static load(path: string, o: SysrootLoadOptions = {}): Sysroot {
    const s = new Sysroot(path, o);
    s.reload();
    return s;
  }

  /** A sysroot object that is not loaded (for `init-fs`/`os-init` before anything exists). */
  static unloaded(path: string, o: SysrootLoadOptions = {}): Sysroot {
    return new Sysroot(path, o);
  }

  /** The repository `ostree/repo` (opened on first use). @throws ArborError NOT_FOUND */
  repo(): Repo {
    if (!this.repoCache) {
      this.repoCache = Repo.open(join(this.path, "ostree/repo"));
      this.repoCache.dirtreeCache = this.dirtrees; // checkout, whiteouts and prune share one decode
    }
    return this.repoCache;
  }

  /** Absolute path of a sysroot-relative path. */
  abs(rel: string): string {
    return join(this.path, rel);
  }

  /** Absolute path of a deployment's root directory. */
  deploymentPath(d: Pick<Deployment, "osname" | "csum" | "deployserial">): string {
    return join(this.path, deploymentRelPath(d));
  }

  /** (Re)read bootversion, subbootversion, deployments and the staged deployment from disk. */
  reload(): void {
    this.repo();
    try {
      statSync(this.abs("ostree/deploy"));
    } catch (e) {
      throw fromSystemError(`Cannot load sysroot "${this.path}": no ostree/deploy`, e);
    }
    this.bootversion = this.readBootversion();
    this.subbootversion = this.readSubbootversion(this.bootversion);
    const configs = this.readBootConfigs(this.bootversion);
    this.booted = null;
    const deployments = configs.map((c) => this.deploymentFromEntry(c));
    if (this.isBooted && !this.booted) {
      throw sysrootError(
        `Unexpected state: ${this.run.booted} found and in / sysroot, but bootloader entry not found`,
      );
    }
    this.staged = null;
    this.stagedData = null;
    if (this.isBooted) {
      const st = readStagedDeployment(this.run.staged);
      if (st) {
        const d = st.deployment;
        d.origin = this.loadOrigin(d);
        d.staged = true;
        this.staged = d;
        this.stagedData = st.data;
        deployments.unshift(d);
      }
    }
    deployments.forEach((d, i) => {
      d.index = i;
    });
    this.deployments = deployments;
  }

  private readBootversion(): number {
    let st: Stats;
    try {
      st = lstatSync(this.abs("boot/loader"));
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return 0;
      throw fromSystemError(`Cannot read "${this.abs("boot/loader")}"`, e);
    }
    if (!st.isSymbolicLink()) throw sysrootError("Not a symbolic link: boot/loader");
    const target = readlinkSync(this.abs("boot/loader"));
    if (target === "loader.0") return 0;
    if (target === "loader.1") return 1;
    throw sysrootError(`Invalid target '${target}' in boot/loader`);
  }

  /** Subbootversion of `ostree/boot.BV` (0 when the link is absent). @throws ArborError SYSROOT */
  readSubbootversion(bootversion: number): number {
    const link = this.abs(`ostree/boot.${bootversion}`);
    let target: string;
    try {
      target = readlinkSync(link);
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return 0;
      throw fromSystemError(`Cannot read "${link}"`, e);
    }
    if (target.endsWith(".0")) return 0;
    if (target.endsWith(".1")) return 1;
    throw sysrootError(`Invalid target '${target}' in ostree/boot.${bootversion}`);
  }

  /** The parsed entries of `boot/loader.BV/entries`, sorted as ostree sorts them. */
  readBootConfigs(bootversion: number): BootConfig[] {
    const dir = this.abs(`boot/loader.${bootversion}/entries`);
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return [];
      throw fromSystemError(`Cannot read "${dir}"`, e);
    }
    const out: BootConfig[] = [];
    for (const name of names) {
      if (!isBlsEntryName(name)) continue;
      const p = join(dir, name);
      if (!statSync(p).isFile()) continue;
      out.push(BootConfig.parse(readFileSync(p, "utf8")));
    }
    return out.sort(compareBootConfigs);
  }

  private deploymentFromEntry(config: BootConfig): Deployment {
    const arg = ostreeArgOf(config);
    if (arg === undefined) throw sysrootError("No ostree= kernel argument found");
    const m = /^\/ostree\/boot.([01])\/([^/]+)\/([^/]+)\/([0-9]+)$/.exec(arg);
    if (!m) {
      throw sysrootError(
        `Invalid ostree= argument '${arg}', expected ostree=/ostree/boot.BOOTVERSION/OSNAME/BOOTCSUM/TREESERIAL`,
      );
    }
    const osname = m[2]!;
    const prefix = `Parsing deployment ${arg} in stateroot '${osname}'`;
    const link = this.abs(arg.slice(1));
    let target: string;
    let st: Stats;
    try {
      target = readlinkSync(link);
      st = statSync(link);
    } catch (e) {
      throw fromSystemError(prefix, e);
    }
    const parsed = parseDeployName(basename(target));
    if (!parsed) {
      throw sysrootError(
        `${prefix}: Invalid deploy name '${basename(target)}', expected CHECKSUM.TREESERIAL`,
      );
    }
    if (!st.isDirectory()) throw sysrootError(`${prefix}: "${target}" is not a directory`);
    const d = newDeployment({
      osname,
      csum: parsed.csum,
      deployserial: parsed.deployserial,
      bootcsum: m[3]!,
      bootserial: Number.parseInt(m[4]!, 10),
      bootconfig: config,
    });
    d.origin = this.loadOrigin(d);
    d.unlocked = this.unlockedState(d);
    for (const initrd of config.overlayInitrds) {
      const b = basename(initrd);
      if (b.length !== 64 + ".img".length) throw sysrootError(`Malformed overlay initrd filename: ${b}`);
      d.overlayInitrds.push(b.slice(0, 64));
    }
    if (
      this.isBooted &&
      !this.booted &&
      this.rootStat &&
      st.dev === this.rootStat.dev &&
      st.ino === this.rootStat.ino
    ) {
      this.booted = d;
    }
    return d;
  }

  /** Read a deployment's origin file (null if it has none). @throws ArborError BAD_CONFIG, IO */
  loadOrigin(d: Deployment): import("../repo/config.js").KeyFile | null {
    const p = this.abs(originRelPath(d));
    let text: string;
    try {
      text = readFileSync(p, "utf8");
    } catch (e) {
      if (errnoCode(e) === "ENOENT") return null;
      throw fromSystemError(`Cannot read origin "${p}"`, e);
    }
    return parseOrigin(text, originRelPath(d));
  }

  private unlockedState(d: Deployment): Deployment["unlocked"] {
    const dir = join(this.run.deploymentState, `${d.csum}.${d.deployserial}`);
    const has = (n: string): boolean => {
      try {
        lstatSync(join(dir, n));
        return true;
      } catch {
        return false;
      }
    };
    if (has("unlocked-development")) return "development";
    if (has("unlocked-transient")) return "transient";
    return d.origin?.get("origin", "unlocked") === "hotfix" ? "hotfix" : "none";
  }

  /**
   * Pending and rollback deployments of `osname` (default: the booted one's): pending is the first
   * of that stateroot before the booted deployment, rollback the first after it.
   */
  queryDeploymentsFor(osname?: string): { pending: Deployment | null; rollback: Deployment | null } {
    const os = osname ?? this.booted?.osname;
    let pending: Deployment | null = null;
    let rollback: Deployment | null = null;
    let foundBooted = false;
    for (const d of this.deployments) {
      if (d.osname !== os) continue;
      if (this.booted && deploymentEqual(d, this.booted)) {
        foundBooted = true;
        continue;
      }
      if (!foundBooted && !pending) pending = d;
      else if (foundBooted && !rollback) rollback = d;
    }
    return { pending, rollback };
  }

  /**
   * The deployment whose /etc and kernel arguments a new deployment of `osname` inherits: the
   * booted one if it is of that stateroot, else the first deployment of the stateroot.
   */
  mergeDeployment(osname?: string): Deployment | null {
    const os = osname ?? this.booted?.osname;
    if (this.booted && this.booted.osname === os) return this.booted;
    return this.queryDeploymentsFor(os).pending;
  }

  /**
   * The booted deployment.
   * @throws ArborError SYSROOT "Not currently booted into an OSTree system"
   */
  requireBooted(): Deployment {
    if (!this.booted) throw sysrootError("Not currently booted into an OSTree system");
    return this.booted;
  }

  /** Touch `ostree/deploy` so watchers (and ostree's load-if-changed) see a change. */
  bumpMtime(): void {
    const now = new Date();
    try {
      utimesSync(this.abs("ostree/deploy"), now, now);
    } catch (e) {
      throw fromSystemError("Cannot update the mtime of ostree/deploy", e);
    }
  }

  /** True if `d` is the root we are running from (never delete it). */
  isRootDir(st: Stats): boolean {
    return this.rootStat !== null && st.dev === this.rootStat.dev && st.ino === this.rootStat.ino;
  }
}

/** The value of the `ostree=` kernel argument in an entry's options. */
export function ostreeArgOf(config: BootConfig): string | undefined {
  const options = config.get("options");
  if (options === undefined) return undefined;
  for (const o of options.split(" ")) if (o.startsWith("ostree=")) return o.slice("ostree=".length);
  return undefined;
}

function compareBootConfigs(a: BootConfig, b: BootConfig): number {
  const av = a.get("version");
  const bv = b.get("version");
  if (av !== undefined && bv !== undefined) return -strverscmp(av, bv);
  if (av !== undefined) return -1;
  return 1;
}
