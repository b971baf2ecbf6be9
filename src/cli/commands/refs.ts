/**
 * `arbor refs [PREFIX…]`: list, create, alias or delete refs, as `ostree refs` (2022.7) does:
 * same output order (GHashTable order), same prefix rules, same error wording.
 */
import type { CommandSpec, ParsedArgs } from "../command.js";
import type { Context } from "../context.js";

type Lib = {
  repo: import("../../repo/repo.js").Repo;
  refs: typeof import("../../repo/refs.js");
  listing: typeof import("../../repo/ref-listing.js");
  ArborError: typeof import("../../errors.js").ArborError;
};

function printRows(
  ctx: Context,
  rows: Array<{ shown: string; name: string; checksum: string; aliasOf?: string; collectionId?: string }>,
): void {
  if (ctx.json) {
    ctx.printJson("RefList", {
      refs: rows.map(({ name, checksum, aliasOf, collectionId }) => ({
        name,
        checksum,
        ...(aliasOf !== undefined ? { aliasOf } : {}),
        ...(collectionId !== undefined ? { collectionId } : {}),
      })),
    });
    return;
  }
  for (const r of rows) ctx.out.line(r.shown);
}

/** `--collections`: list (collection, ref) pairs, create a mirror ref, or delete a collection's refs. */
async function doRefWithCollections(
  ctx: Context,
  args: ParsedArgs,
  lib: Lib,
  prefix: string | null,
): Promise<void> {
  const { repo, refs, listing, ArborError } = lib;
  const create = args.str("create");
  const found = listing.listCollectionRefs(repo, { collectionId: create ? null : prefix });
  if (!args.has("delete") && !create) {
    printRows(
      ctx,
      found.map((r) => ({
        shown: `(${r.collectionId}, ${r.ref})`,
        name: r.ref,
        checksum: r.checksum,
        collectionId: r.collectionId,
      })),
    );
  } else if (create) {
    const existing = refs.resolveRev(repo, create, { allowNoent: true, fallbackRemote: false });
    if (!args.has("force") && existing !== null)
      throw new ArborError("EXISTS", `--create specified but ref ${create} already exists`);
    const checksum = refs.resolveRev(repo, prefix!)!;
    const colon = create.indexOf(":");
    const cid = colon < 0 ? create : create.slice(0, colon);
    const ref = colon < 0 ? "" : create.slice(colon + 1);
    if (!listing.isCollectionId(cid)) throw new ArborError("BAD_NAME", `Invalid collection ID ${cid}`);
    refs.writeCollectionRef(repo, cid, ref, checksum);
  } else {
    for (const r of found) refs.writeCollectionRef(repo, r.collectionId, r.ref, null);
  }
}

async function doRef(ctx: Context, args: ParsedArgs, lib: Lib, prefix: string | null): Promise<void> {
  if (args.has("collections")) return doRefWithCollections(ctx, args, lib, prefix);
  const { repo, refs, listing, ArborError } = lib;
  const create = args.str("create");
  const del = args.has("delete");
  const alias = args.has("alias");
  // Aliases are needed to replace an alias, and to refuse deleting a ref that has one.
  const aliases = alias || del ? listing.listRefsOstree(repo, { aliasesOnly: true }) : [];
  let found: import("../../repo/ref-listing.js").ListedRef[];
  if (del || args.has("list") || (!create && alias))
    found = listing.listRefsOstree(repo, { prefix, aliasesOnly: alias });
  else if (create) found = listing.listRefsOstree(repo);
  else found = listing.listRefsOstree(repo, { prefix, cutPrefix: true });

  if (!del && !create) {
    printRows(
      ctx,
      found.map((r) =>
        alias
          ? {
              shown: `${r.key} -> ${r.value}`,
              name: r.key,
              checksum: refs.resolveRev(repo, r.key, { allowNoent: true }) ?? "",
              aliasOf: r.value,
            }
          : { shown: r.key, name: r.key, checksum: r.value },
      ),
    );
    return;
  }
  if (create) {
    const existing = refs.resolveRev(repo, create, { allowNoent: true, fallbackRemote: false });
    const replacingAlias = alias && aliases.some((a) => a.key === create);
    if (!replacingAlias && !args.has("force") && existing !== null)
      throw new ArborError("EXISTS", `--create specified but ref ${create} already exists`);
    const spec = listing.splitRefspec(create);
    if (!spec) throw new ArborError("BAD_REF", `Invalid refspec ${create}`);
    if (alias) {
      if (spec.remote !== null)
        throw new ArborError("USAGE", `Cannot create alias to remote ref: ${spec.remote}`);
      if (!found.some((r) => r.key === prefix))
        throw new ArborError("NOT_FOUND", `Cannot create alias to non-existent ref: ${prefix}`);
      const { createRefAlias } = await import("../../repo/ref-alias.js");
      createRefAlias(repo, spec.ref, prefix!);
      return;
    }
    const checksum = refs.resolveRev(repo, prefix!)!;
    refs.writeRefFile(repo, spec.ref, checksum, spec.remote);
    return;
  }
  for (const r of found) {
    const spec = listing.splitRefspec(r.key);
    if (!spec) throw new ArborError("BAD_REF", `Invalid refspec ${r.key}`);
    const holder = aliases.find((a) => a.value === spec.ref);
    if (holder) throw new ArborError("CONFLICT", `Ref '${spec.ref}' has an active alias: '${holder.key}'`);
    refs.writeRefFile(repo, spec.ref, null, spec.remote);
  }
}

export const command: CommandSpec = {
  name: "refs",
  summary: "List refs",
  usage: "[OPTION…] [PREFIX]",
  repo: true,
  json: true,
  options: [
    { long: "delete", help: "Delete refs which match PREFIX, rather than listing them" },
    { long: "list", help: "Do not remove the prefix from the refs" },
    {
      long: "alias",
      short: "A",
      help: "If used with --create, create an alias, otherwise just list aliases",
    },
    { long: "create", arg: "NEWREF", help: "Create a new ref for an existing commit" },
    { long: "collections", short: "c", help: "Enable listing collection IDs for refs" },
    { long: "force", help: "Overwrite existing refs when creating" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { ArborError } = await import("../../errors.js");
    const lib: Lib = {
      repo: Repo.open(ctx.repoPath()),
      refs: await import("../../repo/refs.js"),
      listing: await import("../../repo/ref-listing.js"),
      ArborError,
    };
    const create = args.str("create");
    if (args.positional.length > 0) {
      if (create !== undefined && args.positional.length > 1)
        throw new ArborError("USAGE", "You must specify only 1 existing ref when creating a new ref");
      for (const p of args.positional) await doRef(ctx, args, lib, p);
      if (create !== undefined || args.has("delete")) {
        // core.auto-update-summary: the refs changed, regenerate the summary (as ostree)
        const { maybeAutoUpdateSummary } = await import("../../repo/summary.js");
        await maybeAutoUpdateSummary(lib.repo);
      }
      return;
    }
    if (args.has("delete"))
      throw new ArborError("USAGE", "At least one PREFIX is required when deleting refs");
    if (create !== undefined)
      throw new ArborError("USAGE", "You must specify a revision when creating a new ref");
    await doRef(ctx, args, lib, null);
  },
};
