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
      validateRef(create);
      const existing = refs.readRef(repo, create);
      if (existing && !args.has("force")) throw new ArborError("EXISTS", `--create specified but ref ${create} already exists`);
      if (args.has("alias")) {
        const { createRefAlias } = await import("../../repo/ref-alias.js");
        createRefAlias(repo, create, target);
        await autoSummary(repo);
        return;
      }
      const cs = refs.resolveRev(repo, target)!;
      if (!repo.hasObject("commit", cs)) throw new ArborError("NOT_FOUND", `Cannot create ref ${create}: commit ${cs} is not in the repository`);
      refs.writeRefFile(repo, create, cs);
      await autoSummary(repo);
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
    if (args.has("collections")) {
      const cid = repo.collectionId;
      for (const r of rows) ctx.out.line(`(${cid ?? "(none)"}, ${r.shown})`);
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
