/** The body of `admin deploy`, kept apart from its option table. */

import type { Sysroot } from "../../../sysroot/sysroot.js";
import type { ParsedArgs } from "../../command.js";
import type { Context } from "../../context.js";

/** Deploy `args.positional[0]` on a locked sysroot per the `admin deploy` options. */
export async function deployWithOptions(
  ctx: Context,
  sysroot: Sysroot,
  args: ParsedArgs,
  msg: { onMessage: (l: string) => void; onNote: (l: string) => void; onStderr: (s: string) => void },
): Promise<void> {
  const { readFileSync } = await import("node:fs");
  const { resolve } = await import("node:path");
  const { KeyFile } = await import("../../../repo/config.js");
  const { resolveRev } = await import("../../../repo/refs.js");
  const { fromSystemError, withContext } = await import("../../../errors.js");
  const { originFromRefspec } = await import("../../../sysroot/origin.js");
  const { KernelArgs, kargsFromProcCmdline } = await import("../../../sysroot/kargs.js");
  const { cleanupSysroot } = await import("../../../sysroot/cleanup.js");
  const { deployTree } = await import("../../../sysroot/deploy.js");
  const { simpleWriteDeployment } = await import("../../../sysroot/write-list.js");

  const refspec = args.positional[0]!;
  const os = args.str("os");
  let origin: InstanceType<typeof KeyFile>;
  const originPath = args.str("origin-file");
  if (originPath !== undefined) {
    try {
      origin = KeyFile.parse(
        readFileSync(resolve(ctx.cwd, originPath), "utf8"),
        `origin file "${originPath}"`,
      );
    } catch (e) {
      throw fromSystemError(`Cannot read origin file "${originPath}"`, e);
    }
  } else origin = originFromRefspec(refspec);
  const revision = resolveRev(sysroot.repo(), refspec)!;
  const merge = args.has("no-merge") ? null : sysroot.mergeDeployment(os);
  try {
    await cleanupSysroot(sysroot, { prune: false });
  } catch (e) {
    throw withContext("Performing initial cleanup", e);
  }

  let kargs: InstanceType<typeof KernelArgs> | null = null;
  const set = args.list("karg");
  const append = args.list("karg-append");
  const del = args.str("karg-delete");
  if (args.has("karg-none")) kargs = new KernelArgs();
  else if (args.has("karg-proc-cmdline")) {
    try {
      kargs = kargsFromProcCmdline(readFileSync("/proc/cmdline", "utf8"));
    } catch (e) {
      throw fromSystemError("Cannot read /proc/cmdline", e);
    }
  } else if (merge && (set.length > 0 || append.length > 0 || del !== undefined)) {
    kargs = KernelArgs.parse(merge.bootconfig?.get("options") ?? "");
  }
  if (set.length > 0) {
    kargs ??= new KernelArgs();
    kargs.replaceAll(set);
  }
  if (append.length > 0) {
    kargs ??= new KernelArgs();
    kargs.appendAll(append);
  }
  if (del !== undefined) {
    kargs ??= new KernelArgs();
    kargs.delete(del);
  }
  const overlays: string[] = [];
  for (const f of args.list("overlay-initrd"))
    overlays.push(await stageOverlayInitrd(sysroot, resolve(ctx.cwd, f)));

  const opts = {
    ...(os !== undefined ? { osname: os } : {}),
    revision,
    origin,
    merge,
    overrideKargs: kargs ? kargs.toArgv() : null,
    overlayInitrds: overlays.length > 0 ? overlays : null,
    ...msg,
  };
  if (args.has("stage")) {
    const { stageTree } = await import("../../../sysroot/stage.js");
    await stageTree(sysroot, { ...opts, lockFinalization: args.has("lock-finalization") });
    return;
  }
  const d = await deployTree(sysroot, opts);
  await simpleWriteDeployment(
    sysroot,
    os,
    d,
    merge,
    {
      retain: args.has("retain"),
      retainPending: !args.has("retain") && args.has("retain-pending"),
      retainRollback: !args.has("retain") && args.has("retain-rollback"),
      notDefault: args.has("not-as-default"),
      noClean: true,
    },
    msg,
  );
  await cleanupSysroot(sysroot, { prune: !args.has("no-prune"), onMessage: msg.onMessage });
}

/** Copy an overlay initrd into /run/ostree/staged-initrds under its SHA-256; returns the checksum. */
async function stageOverlayInitrd(sysroot: Sysroot, path: string): Promise<string> {
  const { createHash } = await import("node:crypto");
  const { mkdirSync, readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { writeFileAtomicSync } = await import("../../../io/atomic-write.js");
  const data = readFileSync(path);
  const cs = createHash("sha256").update(data).digest("hex");
  mkdirSync(sysroot.run.stagedInitrds, { recursive: true, mode: 0o755 });
  writeFileAtomicSync(join(sysroot.run.stagedInitrds, cs), data);
  return cs;
}
