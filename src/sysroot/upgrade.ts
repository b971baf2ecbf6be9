/**
 * `admin upgrade` / `admin switch`: follow a deployment's origin (fact sheet §7.10). Two phases,
 * as ostree's OstreeSysrootUpgrader: `pull()` fetches the origin refspec (or an
 * `override-commit`) and decides whether anything changed; `deploy()` deploys the new commit with
 * the merge deployment's /etc and kernel arguments.
 *
 * Fetching goes through the narrow {@link Puller} interface, so the HTTP pull layer can be plugged
 * in without this module knowing about it; `file://` remotes are pulled with pull-local.
 * Downgrades (a target commit older than the deployed one) are refused unless allowed.
 */

import { lookup } from "../core/metadata.js";
import { isChecksum, parseRefspec } from "../core/validate.js";
import { ArborError } from "../errors.js";
import { Variant } from "../gvariant/index.js";
import type { KeyFile } from "../repo/config.js";
import { setRefImmediate } from "../repo/ref-immediate.js";
import { resolveRev } from "../repo/refs.js";
import type { Repo } from "../repo/repo.js";
import { deployTree } from "./deploy.js";
import type { Deployment } from "./deployment.js";
import { cloneOrigin } from "./origin.js";
import type { Sysroot } from "./sysroot.js";
import { simpleWriteDeployment } from "./write-list.js";

/** Options a {@link Puller} receives. */
export interface PullerOptions {
  /** Refuse (before writing anything) a pulled commit older than this local commit. */
  timestampCheckFromRev?: string;
  signal?: AbortSignal;
}

/** Fetches refs (or commit checksums) of a remote into the sysroot repo. */
export interface Puller {
  /**
   * Pull `refs` from `remote` into `repo`, updating `refs/remotes/REMOTE/REF` for refs.
   * @throws ArborError NETWORK, NOT_FOUND, SIGNATURE_INVALID…
   */
  pull(repo: Repo, remote: string, refs: string[], o: PullerOptions): Promise<void>;
}

/** Options for {@link Upgrader.create}. */
export interface UpgraderOptions {
  /** Stateroot; default the booted one. */
  osname?: string;
  /** Ignore `unconfigured-state` in the origin (switch does). */
  ignoreUnconfigured?: boolean;
  /** Derived deployments (managed layers): see {@link DeriveHook}. */
  derive?: DeriveHook;
}

/**
 * Hook for deployments whose commit is derived from a base image (arbor's declared layers,
 * src/managed/derive.ts): `baseOf` maps a deployed commit to the base it was derived from (itself
 * for a plain commit), `derive` gives the commit to deploy for a new base and the origin.
 */
export interface DeriveHook {
  baseOf(repo: Repo, commit: string): string;
  derive(sysroot: Sysroot, base: string, origin: KeyFile): Promise<string>;
}

/** Options for {@link Upgrader.pull}. */
export interface UpgradePullOptions {
  /** Permit a target older than the current deployment. */
  allowOlder?: boolean;
  /** Do not fetch; use what the repo has (`--deploy-only`). */
  synthetic?: boolean;
  puller?: Puller;
  signal?: AbortSignal;
}

function formatC(ts: number): string {
  const d = new Date(ts * 1000);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p = (n: number): string => String(n).padStart(2, "0");
  return `${days[d.getUTCDay()]} ${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, " ")} ${p(
    d.getUTCHours(),
  )}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/**
 * Refuse moving from `fromRev` to an older `toRev`.
 * @throws ArborError CONFLICT "Upgrade target revision … is chronologically older than current revision …"
 */
export function checkTimestamps(repo: Repo, fromRev: string, toRev: string): void {
  const a = repo.loadCommit(fromRev).timestamp;
  const b = repo.loadCommit(toRev).timestamp;
  if (b > a || b === a || fromRev === toRev) return;
  throw new ArborError(
    "CONFLICT",
    `Upgrade target revision '${toRev}' with timestamp '${formatC(b)}' is chronologically older than current revision '${fromRev}' with timestamp '${formatC(a)}'; use --allow-downgrade to permit`,
  );
}

/** {@link checkTimestamps} with the target commit in another repository (a pull source). */
function checkTimestampsAcross(repo: Repo, fromRev: string, src: Repo, toRev: string): void {
  const a = repo.loadCommit(fromRev).timestamp;
  const b = src.loadCommit(toRev).timestamp;
  if (b >= a || fromRev === toRev) return;
  throw new ArborError(
    "CONFLICT",
    `Upgrade target revision '${toRev}' with timestamp '${formatC(b)}' is chronologically older than current revision '${fromRev}' with timestamp '${formatC(a)}'; use --allow-downgrade to permit`,
  );
}

/** Upgrade state for one stateroot. */
export class Upgrader {
  origin: KeyFile;
  originRemote: string | null = null;
  originRef = "";
  overrideCsum: string | null = null;
  newRevision: string | null = null;

  private constructor(
    readonly sysroot: Sysroot,
    readonly osname: string,
    readonly merge: Deployment,
    origin: KeyFile,
    private readonly o: UpgraderOptions,
  ) {
    this.origin = origin;
    this.parseOrigin();
  }

  /**
   * Prepare an upgrade of `o.osname` (default: the booted stateroot).
   * @throws ArborError SYSROOT (not booted and no osname, no deployment, no origin, unconfigured)
   */
  static create(sysroot: Sysroot, o: UpgraderOptions = {}): Upgrader {
    if (!sysroot.booted && o.osname === undefined) {
      throw new ArborError("SYSROOT", "Not currently booted into an OSTree system and no OS specified");
    }
    const osname = o.osname ?? sysroot.booted!.osname;
    if (osname === "") throw new ArborError("USAGE", "Invalid empty osname");
    const merge = sysroot.mergeDeployment(osname);
    if (!merge) throw new ArborError("SYSROOT", `No previous deployment for OS '${osname}'`);
    if (!merge.origin) {
      throw new ArborError("SYSROOT", `No origin known for deployment ${merge.csum}.${merge.deployserial}`);
    }
    return new Upgrader(sysroot, osname, merge, cloneOrigin(merge.origin), o);
  }

  private parseOrigin(): void {
    if (!this.o.ignoreUnconfigured) {
      const u = this.origin.get("origin", "unconfigured-state");
      if (u !== undefined) throw new ArborError("SYSROOT", `origin unconfigured-state: ${u}`);
    }
    const refspec = this.origin.get("origin", "refspec");
    if (refspec === undefined) {
      throw new ArborError(
        "SYSROOT",
        "No origin/refspec in current deployment origin; cannot upgrade via ostree",
      );
    }
    const r = parseRefspec(refspec);
    this.originRemote = r.remote;
    this.originRef = r.ref;
    const csum = this.origin.get("origin", "override-commit");
    if (csum !== undefined && !isChecksum(csum)) {
      throw new ArborError("BAD_CHECKSUM", `Invalid checksum "${csum}" in origin override-commit`);
    }
    this.overrideCsum = csum ?? null;
  }

  /** Replace the origin (switch, override-commit). @throws as {@link Upgrader.create} */
  setOrigin(origin: KeyFile): void {
    this.origin = origin;
    this.parseOrigin();
  }

  private refspec(ref = this.originRef): string {
    return this.originRemote ? `${this.originRemote}:${ref}` : ref;
  }

  /**
   * Fetch the target and decide whether it differs from the merge deployment's commit.
   * @returns true if there is something new to deploy.
   * @throws ArborError CONFLICT (downgrade), UNSUPPORTED (no way to pull that remote), NETWORK…
   */
  async pull(o: UpgradePullOptions = {}): Promise<boolean> {
    const repo = this.sysroot.repo();
    const fetch = this.originRemote !== null && !o.synthetic;
    const doPull = async (ref: string): Promise<void> => {
      if (!o.puller) {
        throw new ArborError(
          "UNSUPPORTED",
          `Cannot pull from remote "${this.originRemote}": no puller available`,
        );
      }
      await o.puller.pull(repo, this.originRemote!, [ref], {
        ...(o.signal ? { signal: o.signal } : {}),
        ...(o.allowOlder ? {} : { timestampCheckFromRev: this.merge.csum }),
      });
    };
    if (fetch) await doPull(this.overrideCsum ?? this.originRef);
    const rev = resolveRev(repo, this.refspec())!;
    const rebase = lookup(repo.loadCommit(rev).metadata, "ostree.endoflife-rebase");
    if (rebase instanceof Variant && rebase.type === "s") {
      const newRef = rebase.value as string;
      if (fetch) await doPull(newRef);
      this.originRef = newRef;
      this.origin.set("origin", "refspec", this.refspec());
    }
    if (this.overrideCsum !== null) {
      await setRefImmediate(repo, this.originRef, this.overrideCsum, this.originRemote);
      this.newRevision = this.overrideCsum;
    } else {
      this.newRevision = resolveRev(repo, this.refspec())!;
    }
    const from = this.o.derive ? this.o.derive.baseOf(repo, this.merge.csum) : this.merge.csum;
    if (from === this.newRevision) return false;
    if (!o.allowOlder) checkTimestamps(repo, from, this.newRevision);
    return true;
  }

  /**
   * Deploy the pulled revision as the new default (or stage it).
   * @throws ArborError, as deployTree/writeDeployments
   */
  async deploy(
    o: { stage?: boolean; onMessage?: (l: string) => void; onNote?: (l: string) => void } = {},
  ): Promise<Deployment> {
    if (this.newRevision === null) throw new ArborError("USAGE", "Nothing pulled to deploy");
    const revision = this.o.derive
      ? await this.o.derive.derive(this.sysroot, this.newRevision, this.origin)
      : this.newRevision;
    const opts = {
      osname: this.osname,
      revision,
      origin: this.origin,
      merge: this.merge,
      ...(o.onMessage ? { onMessage: o.onMessage } : {}),
      ...(o.onNote ? { onNote: o.onNote } : {}),
    };
    if (o.stage) {
      const { stageTree } = await import("./stage.js");
      return stageTree(this.sysroot, opts);
    }
    const d = await deployTree(this.sysroot, opts);
    await simpleWriteDeployment(this.sysroot, this.osname, d, this.merge, {}, { onMessage: o.onMessage });
    return d;
  }
}

/** A {@link Puller} for `file://` remotes (pull-local); other URLs are delegated to `fallback`. */
export function localPuller(fallback?: Puller): Puller {
  return {
    async pull(repo, remote, refs, o) {
      const { getRemote } = await import("../repo/remotes.js");
      const url = getRemote(repo, remote).url;
      if (url?.startsWith("file://")) {
        const { Repo } = await import("../repo/repo.js");
        const { pullLocal } = await import("../repo/pull-local.js");
        const src = Repo.open(decodeURIComponent(url.slice("file://".length)));
        if (o.timestampCheckFromRev) {
          for (const r of refs) {
            const cs = resolveRev(src, r)!;
            checkTimestampsAcross(repo, o.timestampCheckFromRev, src, cs);
          }
        }
        await pullLocal(src, repo, {
          refs,
          remote,
          // An update is verified object by object even from a file:// remote (ostree trusts
          // local sources; an OS updater should not: the directory may be a mounted medium).
          untrusted: true,
          ...(o.signal ? { signal: o.signal } : {}),
        });
        return;
      }
      if (!fallback) {
        throw new ArborError(
          "UNSUPPORTED",
          `Cannot pull from remote "${remote}" (${url}): HTTP pull is not available`,
        );
      }
      await fallback.pull(repo, remote, refs, o);
    },
  };
}
