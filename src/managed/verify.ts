/**
 * `admin verify`: prove a deployment is exactly what its declared inputs make, or say exactly
 * what differs. Checks, in order:
 *  1. `declaration`: the origin's `[arbor]` layers and priority are the ones the deployed commit
 *     was derived from, and each layer ref still points to the commit recorded;
 *  2. `derivation`: base ⊕ recorded layers, derived again (in memory), gives the deployed commit;
 *  3. `tree`: the files on disk outside /etc and /var are the commit's (content compared unless
 *     quick), and no hardlinked object is corrupt;
 *  4. `etc`: /etc equals its image default (which includes the layers): no undeclared change.
 */
import { join } from "node:path";
import { readRef } from "../repo/refs.js";
import type { Deployment } from "../sysroot/deployment.js";
import type { Sysroot } from "../sysroot/sysroot.js";
import { deriveDeploymentCommit } from "./derive.js";
import { compareEtc } from "./drift-etc.js";
import { compareImage, type DriftItem } from "./drift-image.js";
import { derivedInputs, layerRef, readLayerDecl } from "./layers.js";

/** One check of {@link verifyDeployment}. */
export interface VerifyCheck {
  name: "declaration" | "derivation" | "tree" | "etc";
  ok: boolean;
  /** What differs (empty when ok). */
  problems: string[];
  /** Differing paths (tree and etc checks). */
  items?: DriftItem[];
}

/** The result of {@link verifyDeployment} (`--json` kind `VerifyReport`). */
export interface VerifyReport {
  stateroot: string;
  deployment: string;
  commit: string;
  base: string;
  /** The commit re-derived from the recorded inputs (null if it could not be). */
  rederived: string | null;
  checks: VerifyCheck[];
  ok: boolean;
}

const sameList = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Verify deployment `d` against its declared inputs.
 * @throws ArborError IO (unreadable deployment); missing objects are reported, not thrown.
 */
export async function verifyDeployment(
  sysroot: Sysroot,
  d: Deployment,
  o: { quick?: boolean } = {},
): Promise<VerifyReport> {
  const repo = sysroot.repo();
  const decl = readLayerDecl(d.origin);
  const inputs = derivedInputs(repo, d.csum);
  const recorded = inputs?.layers ?? [];
  const base = inputs?.base ?? d.csum;
  const checks: VerifyCheck[] = [];

  const declProblems: string[] = [];
  const names = recorded.map((l) => l.name);
  if (!sameList(decl.layers, names)) {
    declProblems.push(
      `origin declares layers [${decl.layers.join(", ")}] but the deployed commit was derived with [${names.join(", ")}]`,
    );
  }
  if (!sameList(decl.layers.length ? decl.priority : [], inputs?.priority ?? [])) {
    declProblems.push(
      `origin declares priority [${decl.priority.join(", ")}] but the commit records [${(inputs?.priority ?? []).join(", ")}]`,
    );
  }
  for (const l of recorded) {
    const now = readRef(repo, layerRef(l.name));
    if (now !== l.commit)
      declProblems.push(
        `layer "${l.name}": ref ${layerRef(l.name)} is ${now ?? "missing"}, the deployment has ${l.commit}`,
      );
  }
  checks.push({ name: "declaration", ok: declProblems.length === 0, problems: declProblems });

  let rederived: string | null = null;
  const derivProblems: string[] = [];
  const missing = [base, ...recorded.map((l) => l.commit)].filter((c) => !repo.hasObject("commit", c));
  if (missing.length)
    derivProblems.push(`input commit(s) no longer in the repository: ${missing.join(", ")}`);
  else if (inputs) {
    try {
      rederived = (
        await deriveDeploymentCommit(repo, base, recorded, { priority: inputs.priority, dryRun: true })
      ).commit;
      if (rederived !== d.csum)
        derivProblems.push(`re-derived commit ${rederived} differs from the deployed commit ${d.csum}`);
    } catch (e) {
      derivProblems.push(`cannot re-derive: ${(e as Error).message}`);
    }
  } else rederived = d.csum;
  checks.push({ name: "derivation", ok: derivProblems.length === 0, problems: derivProblems });

  const root = sysroot.deploymentPath(d);
  const image = await compareImage(repo, d.csum, root, { quick: !!o.quick });
  const treeProblems: string[] = [];
  if (image.items.length)
    treeProblems.push(`${image.items.length} path(s) on disk differ from commit ${d.csum}`);
  if (image.corrupt.length) {
    treeProblems.push(
      `${image.corrupt.length} repository object(s) changed in place (corruption): ${image.corrupt
        .map((i) => i.path)
        .slice(0, 5)
        .join(", ")}`,
    );
  }
  checks.push({
    name: "tree",
    ok: treeProblems.length === 0,
    problems: treeProblems,
    items: [...image.corrupt, ...image.items],
  });
  const etc = compareEtc(join(root, "usr/etc"), join(root, "etc"), { quick: !!o.quick });
  checks.push({
    name: "etc",
    ok: etc.length === 0,
    problems: etc.length ? [`${etc.length} undeclared change(s) in /etc`] : [],
    items: etc,
  });
  return {
    stateroot: d.osname,
    deployment: `${d.csum}.${d.deployserial}`,
    commit: d.csum,
    base,
    rederived,
    checks,
    ok: checks.every((c) => c.ok),
  };
}
