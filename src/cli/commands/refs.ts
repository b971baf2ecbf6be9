/** `arbor refs [PREFIX]`: list, create, alias or delete refs (as `ostree refs`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "refs",
  summary: "List refs",
  usage: "[OPTION…] [PREFIX]",
  repo: true,
  json: true,
  options: [
    { long: "delete", help: "Delete refs which match PREFIX, rather than listing them" },
    { long: "list", help: "Do not remove the prefix from the refs" },
    { long: "alias", short: "A", help: "If used with --create, create an alias, otherwise just list aliases" },
    { long: "create", arg: "NEWREF", help: "Create a new ref for an existing commit" },
    { long: "collections", short: "c", help: "Enable listing collection IDs for refs" },
    { long: "force", help: "Overwrite existing refs when creating" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const refs = await import("../../repo/refs.js");
    const { ArborError } = await import("../../errors.js");
    const { validateRef } = await import("../../core/validate.js");
    const repo = Repo.open(ctx.repoPath());
    const create = args.str("create");
    if (create) {
      const target = args.positional[0];
      if (!target) throw ctx.usageError("Usage: refs --create=NEWREF EXISTING");
      // --collections --create=COLLECTION:REF names a collection ref
      const colon = args.has("collections") && !args.has("alias") ? create.indexOf(":") : -1;
      const collectionRef: [string, string] | null =
        colon > 0 ? [create.slice(0, colon), create.slice(colon + 1)] : null;
      validateRef(collectionRef ? collectionRef[1] : create);
      const existing = collectionRef ? null : refs.readRef(repo, create);
      if (existing && !args.has("force")) throw new ArborError("EXISTS", `--create specified but ref ${create} already exists`);
      if (args.has("alias")) {
        const { createRefAlias } = await import("../../repo/ref-alias.js");
        createRefAlias(repo, create, target);
        await autoSummary(repo);
        return;
      }
      const cs = refs.resolveRev(repo, target)!;
      if (!repo.hasObject("commit", cs)) throw new ArborError("NOT_FOUND", `Cannot create ref ${create}: commit ${cs} is not in the repository`);
      if (collectionRef) refs.writeCollectionRefFile(repo, collectionRef[0], collectionRef[1], cs);
      else refs.writeRefFile(repo, create, cs);
      await autoSummary(repo);
      return;
    }
    if (args.has("collections")) {
      // ostree: the argument is a collection ID to match; --delete deletes every matching ref
      const { findRemote } = await import("../../repo/remotes.js");
      const match = args.positional[0];
      const rows: Array<{ cid: string; ref: string; remote: string | null; mirror: boolean }> = [];
      const own = repo.collectionId;
      if (own && (!match || match === own))
        for (const r of refs.listRefs(repo, { kind: "heads" })) rows.push({ cid: own, ref: r.ref, remote: null, mirror: false });
      for (const r of refs.listRefs(repo, { kind: "mirrors" }))
        if (r.remote && (!match || match === r.remote)) rows.push({ cid: r.remote, ref: r.ref, remote: r.remote, mirror: true });
      for (const r of refs.listRefs(repo, { kind: "remotes" })) {
        const cid = r.remote ? findRemote(repo, r.remote)?.get("collection-id") : undefined;
        if (cid && (!match || match === cid)) rows.push({ cid, ref: r.ref, remote: r.remote, mirror: false });
      }
      if (args.has("delete")) {
        for (const r of rows) {
          if (r.mirror) refs.writeCollectionRefFile(repo, r.cid, r.ref, null);
          else refs.writeRefFile(repo, r.ref, null, r.remote);
        }
        await autoSummary(repo);
        return;
      }
      const lines = rows.map((r) => `(${r.cid}, ${r.ref})`).sort();
      for (const l of [...new Set(lines)]) ctx.out.line(l);
      return;
    }
    const prefixes = args.positional.length ? args.positional : [null];
    const all = refs.listRefs(repo, { kind: "all" });
    if (args.has("delete")) {
      if (!args.positional.length) throw ctx.usageError("At least one PREFIX is required when deleting refs");
      for (const p of args.positional) {
        const matches = all.filter((r) => r.name === p || r.name.startsWith(p.endsWith("/") || p.endsWith(":") ? p : `${p}/`));
        for (const r of matches) refs.writeRefFile(repo, r.ref, null, r.remote);
      }
      await autoSummary(repo);
      return;
    }
    const aliasesOnly = args.has("alias");
    const rows: Array<{ name: string; shown: string; checksum: string; aliasOf?: string }> = [];
    for (const p of prefixes) {
      for (const r of all) {
        if (aliasesOnly && !r.aliasOf) continue;
        if (p === null) {
          rows.push({ name: r.name, shown: aliasesOnly ? `${r.name} -> ${r.aliasOf}` : r.name, checksum: r.checksum, ...(r.aliasOf ? { aliasOf: r.aliasOf } : {}) });
          continue;
        }
        const pre = p.endsWith("/") || p.endsWith(":") ? p : `${p}/`;
        if (!r.name.startsWith(pre)) continue;
        const shown = args.has("list") || p.endsWith(":") ? r.name : r.name.slice(pre.length);
        rows.push({ name: r.name, shown, checksum: r.checksum });
      }
    }
    if (ctx.json) {
      ctx.printJson("RefList", { refs: rows.map(({ name, checksum, aliasOf }) => ({ name, checksum, ...(aliasOf ? { aliasOf } : {}) })) });
      return;
    }
    for (const r of rows) ctx.out.line(r.shown);
  },
};

/** `core.auto-update-summary`: regenerate the summary after the refs changed (as ostree). */
async function autoSummary(repo: import("../../repo/repo.js").Repo): Promise<void> {
  const { maybeAutoUpdateSummary } = await import("../../repo/summary.js");
  await maybeAutoUpdateSummary(repo);
}
