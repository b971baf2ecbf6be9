/**
 * `arbor create-usb [--disable-fsync] [--destination-repo=DEST] [--commit=COMMIT] MOUNT-PATH
 * COLLECTION-ID REF [COLLECTION-ID REF…]` (as `ostree create-usb`, 2022.7): copy collection–refs of
 * this repository into an archive repository on the medium mounted at MOUNT-PATH (default
 * `.ostree/repo`), as mirrors, with a regenerated summary and, for a non-standard DEST, a
 * `.ostree/repos.d/NN-generated` symlink (src/repo/create-usb.ts). Prints ostree's line
 * `Copied N/N refs successfully from ‘SRC’ to ‘DEST’ repository in ‘MOUNT-PATH’.`
 */
import type { CommandSpec } from "../command.js";
import { usageError } from "../exit.js";

export const command: CommandSpec = {
  name: "create-usb",
  summary: "Copy the refs to a USB stick",
  usage: "[OPTION…] MOUNT-PATH COLLECTION-ID REF [COLLECTION-ID REF...]",
  repo: true,
  json: true,
  options: [
    { long: "disable-fsync", help: "Do not invoke fsync()" },
    { long: "destination-repo", arg: "DEST", help: "Use custom repository directory within the mount" },
    {
      long: "commit",
      arg: "COMMIT",
      help: "Pull a specific commit (only works when a single ref is specified)",
    },
  ],
  async run(ctx, args) {
    const pos = args.positional;
    if (pos.length < 1) throw usageError("A MOUNT-PATH must be specified", "help-gap");
    if (pos.length < 3) throw usageError("At least one COLLECTION-ID REF pair must be specified", "help-gap");
    if (pos.length % 2 === 0)
      throw usageError("Only complete COLLECTION-ID REF pairs may be specified", "help-gap");
    const commit = args.str("commit");
    if (commit !== undefined && pos.length > 3) {
      throw usageError(
        "The --commit option can only be used when a single COLLECTION-ID REF pair is specified",
        "help-gap",
      );
    }
    const { resolve } = await import("node:path");
    const { Repo } = await import("../../repo/repo.js");
    const { createUsb } = await import("../../repo/create-usb.js");
    const mount = pos[0]!;
    const refs: Array<{ collectionId: string; ref: string }> = [];
    for (let i = 1; i < pos.length; i += 2) refs.push({ collectionId: pos[i]!, ref: pos[i + 1]! });
    const src = Repo.open(ctx.repoPath());
    const r = await createUsb(src, resolve(ctx.cwd, mount), refs, {
      ...(args.str("destination-repo") !== undefined
        ? { destinationRepo: args.str("destination-repo") }
        : {}),
      ...(commit !== undefined ? { commit } : {}),
      disableFsync: args.has("disable-fsync"),
      signal: ctx.signal,
    });
    if (ctx.json) {
      ctx.printJson("CreateUsb", { source: src.path, mountPath: mount, ...r });
      return;
    }
    const n = r.refs.length;
    ctx.out.line(
      `Copied ${n}/${n} refs successfully from ‘${src.path}’ to ‘${r.destinationRepo}’ repository in ‘${mount}’.`,
    );
  },
};
