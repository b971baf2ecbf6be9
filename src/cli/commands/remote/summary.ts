/** `remote summary NAME` (as `ostree remote summary`): show the remote's summary and its signatures. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "remote summary",
  summary: "Show remote summary",
  usage: "[OPTION…] NAME",
  repo: true,
  minArgs: 1,
  argsError: "NAME must be specified",
  options: [
    { long: "cache-dir", arg: "DIR", help: "Use custom cache dir", hidden: true },
    { long: "raw", help: "Show raw variant data" },
  ],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { ArborError } = await import("../../../errors.js");
    const { fetchSummaryOfRemote } = await import("../../../pull/pull.js");
    const { formatSummaryView } = await import("../../../repo/summary-view.js");
    const name = args.positional[0]!;
    const repo = Repo.open(ctx.repoPath());
    const rs = await fetchSummaryOfRemote(repo, name, { env: ctx.env, signal: ctx.signal });
    if (!rs.bytes) throw new ArborError("NOT_FOUND", `Remote ${name} has no summary file`);
    ctx.out.write(formatSummaryView(rs.bytes, { raw: args.has("raw") }));
    if (args.has("raw") || !rs.sig) return;
    const { getRemote } = await import("../../../repo/remotes.js");
    if (!getRemote(repo, name).gpgVerifySummary) return;
    const { gpgVerifyForRemote } = await import("../../../sign/remote-verify.js");
    const { describeGpgSignature } = await import("../../../sign/gpg-verify.js");
    const r = await gpgVerifyForRemote(repo, name, rs.bytes, rs.sig).catch(() => null);
    if (!r) return;
    const n = r.signatures.length;
    ctx.out.write(`\nGPG: Verification enabled, found ${n} signature${n === 1 ? "" : "s"}:\n`); // ostree's words
    for (const s of r.signatures) ctx.out.write(`\n${describeGpgSignature(s, "  ")}`);
  },
};
