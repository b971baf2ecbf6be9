/** `arbor config get|set|unset SECTION.KEY [VALUE]`: edit the repo config (as `ostree config`). */
import type { CommandSpec } from "../command.js";

export const command: CommandSpec = {
  name: "config",
  summary: "Change repo configuration settings",
  usage: "[OPTION…] (get KEY|set KEY VALUE|unset KEY)",
  repo: true,
  minArgs: 1,
  argsError: "A subcommand is required",
  options: [
    { long: "group", arg: "GROUP", help: 'Group name for remote config options (e.g. remote "origin")' },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../repo/repo.js");
    const { ArborError } = await import("../../errors.js");
    const [op, keyArg, value] = args.positional as [string, string | undefined, string | undefined];
    const repo = Repo.open(ctx.repoPath());
    const split = (k: string | undefined): [string, string] => {
      if (!k) throw ctx.usageError("A KEY argument is required");
      const group = args.str("group");
      if (group) return [group, k];
      const dot = k.lastIndexOf(".");
      if (dot <= 0 || dot === k.length - 1)
        throw ctx.usageError(`Key "${k}" must be of the form SECTION.KEY`);
      return [k.slice(0, dot), k.slice(dot + 1)];
    };
    switch (op) {
      case "get": {
        const [g, k] = split(keyArg);
        if (!repo.config.hasGroup(g))
          throw new ArborError("NOT_FOUND", `Key file does not have group “${g}”`);
        const v = repo.config.get(g, k);
        if (v === undefined)
          throw new ArborError("NOT_FOUND", `Key file does not have key “${k}” in group “${g}”`);
        ctx.out.line(v);
        return;
      }
      case "set": {
        const [g, k] = split(keyArg);
        if (value === undefined) throw ctx.usageError("A VALUE argument is required");
        repo.config.set(g, k, value);
        repo.saveConfig();
        return;
      }
      case "unset": {
        const [g, k] = split(keyArg);
        if (repo.config.unset(g, k)) repo.saveConfig();
        return;
      }
      default:
        throw ctx.usageError(`Unknown operation "${op}"`);
    }
  },
};
