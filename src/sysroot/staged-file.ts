/**
 * The staged-deployment record, `/run/ostree/staged-deployment` (fact sheet §7.7): a serialized
 * GVariant `a{sv}` written by `deploy --stage` and consumed at shutdown by `finalize-staged`.
 *
 * ```
 * target            a{sv}  {name: "CSUM.SERIAL", osname: s, bootcsum: s}
 * merge-deployment  a{sv}  same shape (optional)
 * kargs             as     kernel arguments (optional: inherit from the merge deployment)
 * overlay-initrds   as     checksums (optional)
 * ```
 * Hostile or truncated files are rejected by the GVariant decoder; names are re-validated.
 */
import { readFileSync } from "node:fs";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { VARDICT } from "../gvariant/formats.js";
import { deserialize, type GVValue, serialize, Variant } from "../gvariant/index.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { type Deployment, newDeployment, parseDeployName } from "./deployment.js";

/** What a staged record says. */
export interface StagedRecord {
  deployment: Deployment;
  merge: DeploymentRef | null;
  kargs: string[] | null;
  overlayInitrds: string[] | null;
  /** Every key, decoded (for round-tripping unknown keys). */
  data: Map<string, unknown>;
}

type Dict = Array<[string, Variant]>;

/** What identifies a deployment in the record. */
export type DeploymentRef = Pick<Deployment, "osname" | "csum" | "deployserial" | "bootcsum">;

function serializeTarget(d: Pick<Deployment, "osname" | "csum" | "deployserial" | "bootcsum">): Variant {
  const v: Dict = [
    ["name", new Variant("s", `${d.csum}.${d.deployserial}`)],
    ["osname", new Variant("s", d.osname)],
    ["bootcsum", new Variant("s", d.bootcsum)],
  ];
  return new Variant(VARDICT, v as GVValue);
}

function str(dict: Dict, key: string): string {
  const e = dict.find(([k]) => k === key);
  if (e?.[1].type !== "s") throw new ArborError("SYSROOT", `Loading staged deployment: Missing key: ${key}`);
  return e[1].value as string;
}

function parseTarget(v: Variant): Pick<Deployment, "osname" | "csum" | "deployserial" | "bootcsum"> {
  if (v.type !== VARDICT) throw new ArborError("SYSROOT", "Loading staged deployment: target is not a{sv}");
  const dict = v.value as Dict;
  const name = str(dict, "name");
  const bootcsum = str(dict, "bootcsum");
  const osname = str(dict, "osname");
  const parsed = parseDeployName(name);
  if (!parsed || osname.includes("/") || osname === "" || osname === "." || osname === "..") {
    throw new ArborError("SYSROOT", `Loading staged deployment: Invalid deploy name '${name}'`);
  }
  return { osname, bootcsum, ...parsed };
}

/**
 * Read the staged record; null if there is none.
 * @throws ArborError SYSROOT (malformed record), IO
 */
export function readStagedDeployment(path: string): StagedRecord | null {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return null;
    throw fromSystemError(`Cannot read "${path}"`, e);
  }
  let dict: Dict;
  try {
    dict = deserialize(VARDICT, bytes) as Dict;
  } catch (e) {
    throw new ArborError("SYSROOT", `Loading staged deployment: ${(e as Error).message}`, { cause: e });
  }
  const data = new Map<string, unknown>(dict.map(([k, v]) => [k, v.value]));
  const target = dict.find(([k]) => k === "target");
  if (!target) return null;
  const t = parseTarget(target[1]);
  const mergeV = dict.find(([k]) => k === "merge-deployment");
  const strv = (key: string): string[] | null => {
    const e = dict.find(([k]) => k === key);
    return e && e[1].type === "as" ? [...(e[1].value as string[])] : null;
  };
  const deployment = newDeployment({ ...t, staged: true });
  const overlayInitrds = strv("overlay-initrds");
  if (overlayInitrds) deployment.overlayInitrds = overlayInitrds;
  return {
    deployment,
    merge: mergeV ? parseTarget(mergeV[1]) : null,
    kargs: strv("kargs"),
    overlayInitrds,
    data,
  };
}

/** Serialize and atomically write a staged record. @throws ArborError IO, NO_SPACE */
export function writeStagedDeployment(
  path: string,
  r: {
    deployment: DeploymentRef;
    merge: DeploymentRef | null;
    kargs: string[] | null;
    overlayInitrds: string[] | null;
  },
): void {
  const dict: Dict = [["target", serializeTarget(r.deployment)]];
  if (r.merge) dict.push(["merge-deployment", serializeTarget(r.merge)]);
  if (r.kargs) dict.push(["kargs", new Variant("as", r.kargs)]);
  if (r.overlayInitrds) dict.push(["overlay-initrds", new Variant("as", r.overlayInitrds)]);
  writeFileAtomicSync(path, serialize(VARDICT, dict as GVValue), { fsync: false });
}
