/** Shared by `admin drift` and `admin verify`: which deployment, and exit code 2 on errors. */
import type { Deployment } from "../../../../sysroot/deployment.js";
import type { Sysroot } from "../../../../sysroot/sysroot.js";
import type { Context } from "../../../context.js";

/** `--deployment=INDEX`. */
export const OPT_DEPLOYMENT = {
  long: "deployment",
  arg: "INDEX",
  help: "Deployment index (default: the booted one, else the first)",
};

/**
 * The deployment to inspect: `--deployment=INDEX`, else the merge deployment of `--os`, else the
 * booted one, else the default.
 * @throws ArborError NOT_FOUND
 */
export async function selectDeployment(
  sysroot: Sysroot,
  index: number | undefined,
  os: string | undefined,
): Promise<Deployment> {
  const { ArborError } = await import("../../../../errors.js");
  if (index !== undefined) {
    const d = sysroot.deployments[index];
    if (!d)
      throw new ArborError(
        "NOT_FOUND",
        `Out of range deployment index ${index}, expected < ${sysroot.deployments.length}`,
      );
    return d;
  }
  const d =
    os !== undefined ? sysroot.mergeDeployment(os) : (sysroot.booted ?? sysroot.deployments[0] ?? null);
  if (!d)
    throw new ArborError(
      "NOT_FOUND",
      os !== undefined ? `No deployment of stateroot "${os}"` : "No deployments",
    );
  return d;
}

/** Run `fn`; an error is printed as `error: …` and gives exit code 2 (1 means "found something"). */
export async function exitTwoOnError(ctx: Context, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    ctx.err.write(`error: ${msg}\n`);
    return 2;
  }
}
