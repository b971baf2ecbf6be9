/**
 * `arbor config get|set|unset SECTION.KEY [VALUE]`: edit the repo config (as `ostree config`).
 * Argument checks and their wording follow ostree: a missing operation or too many arguments
 * show the help; a missing KEY/VALUE, a KEY without a dot or an unknown operation do not.
 */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "config",
  summary: "Change repo configuration settings",
  usage: "[OPTION…] (get KEY|set KEY VALUE|unset KEY)",
  repo: true,
  minArgs: 1,
  argsError: "OPERATION must be specified",
  options: [
    { long: "group", arg: "GROUP", help: 'Group name for remote config options (e.g. remote "origin")' },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { ArborError } = await import("../../errors.js");
    const [op, ...rest] = args.positional as [string, ...string[]];
    const group = args.str("group");
    const fail = (msg: string) => new ArborError("USAGE", msg);
    /** Check the argument count (`want` after the operation) and split KEY into [group, key]. */
    const target = (want: number, missing: string): [string, string] => {
      if (rest.length > want) throw ctx.usageError("Too many arguments given");
      if (rest.length < want) throw fail(missing);
      const k = rest[0]!;
      if (group !== undefined) return [group, k];
      const dot = k.indexOf(".");
      if (dot < 0) throw fail('Key must be of the form "sectionname.keyname"');
      return [k.slice(0, dot), k.slice(dot + 1)];
    };
    const withGroup = group !== undefined;
    switch (op) {
      case "get": {
        const [g, k] = target(
          1,
          withGroup ? "Group name and key must be specified" : "KEY must be specified",
        );
        const repo = Repo.open(ctx.repoPath());
        if (!repo.config.hasGroup(g))
          throw new ArborError("NOT_FOUND", `Key file does not have group “${g}”`);
        const v = repo.config.get(g, k);
        if (v === undefined)
          throw new ArborError("NOT_FOUND", `Key file does not have key “${k}” in group “${g}”`);
        ctx.out.line(v);
        return;
      }
      case "set": {
        const [g, k] = target(
          2,
          withGroup ? "GROUP name, KEY and VALUE must be specified" : "KEY and VALUE must be specified",
        );
        const repo = Repo.open(ctx.repoPath());
        repo.config.set(g, k, rest[1]!);
        repo.saveConfig();
        return;
      }
      case "unset": {
        const [g, k] = target(
          1,
          withGroup ? "Group name and key must be specified" : "KEY must be specified",
        );
        const repo = Repo.open(ctx.repoPath());
        if (repo.config.unset(g, k)) repo.saveConfig();
        return;
      }
      default:
        throw fail(`Unknown operation ${op}`);
    }
  },
};
