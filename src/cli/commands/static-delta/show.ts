/** `static-delta show DELTA` (as `ostree static-delta show`): the superblock and every part. */
import type { CommandSpec } from "../../command.js";

export const command: CommandSpec = {
  name: "static-delta show",
  summary: "Dump information on a delta",
  usage: "[OPTION…]",
  repo: true,
  json: true,
  minArgs: 1,
  argsError: "DELTA must be specified",
  options: [],
  async run(ctx, args) {
    const { Repo } = await import("../../../repo/repo.js");
    const { parseDeltaArg } = await import("../../../repo/delta-store.js");
    const { describeDelta } = await import("../../../delta/show.js");
    const { deltaName } = await import("../../../repo/delta-naming.js");
    const { formatSize } = await import("../../../core/format-size.js");
    const d = parseDeltaArg(args.positional[0]!);
    const info = await describeDelta(Repo.open(ctx.repoPath()), d);
    const sb = info.superblock;
    const sum = (
      f: (x: { size: number; usize: number }) => number,
      xs: Array<{ size: number; usize: number }>,
    ) => xs.reduce((a, x) => a + f(x), 0);
    const fb = sb.fallbacks.map((f) => ({ size: f.compressedSize, usize: f.uncompressedSize }));
    const fbSize = sum((x) => x.size, fb);
    const fbUsize = sum((x) => x.usize, fb);
    const partSize = sum((x) => x.size, info.parts);
    const partUsize = sum((x) => x.usize, info.parts);
    if (ctx.json) {
      ctx.printJson("StaticDelta", {
        name: deltaName(d),
        signed: info.signed,
        from: sb.from,
        to: sb.to,
        endianness: sb.bigEndian ? "big" : "little",
        timestamp: sb.timestamp,
        fallbacks: sb.fallbacks,
        parts: info.parts,
      });
      return;
    }
    const sz = (n: number): string => `${n} (${formatSize(n)})`;
    const out = (s: string): void => ctx.out.line(s);
    out(`Delta: ${deltaName(d)}`);
    out(`Signed: ${info.signed ? "yes" : "no"}`);
    out(sb.from ? `From: ${sb.from}` : "From <scratch>");
    out(`To: ${sb.to}`);
    out(`Endianness: ${sb.bigEndian ? "big" : "little"}${sb.endiannessGuessed ? " (heuristic)" : ""}`);
    out(`Timestamp: ${sb.timestamp}`);
    out("Number of parents: 0");
    out(`Number of fallback entries: ${sb.fallbacks.length}`);
    for (const f of sb.fallbacks) out(`  ${f.checksum}`);
    out(`Total Fallback Size: ${sz(fbSize)}`);
    out(`Total Fallback Uncompressed Size: ${sz(fbUsize)}`);
    out(`Number of parts: ${info.parts.length}`);
    info.parts.forEach((p, i) => {
      out(`PartMeta${i}: nobjects=${p.objects} size=${p.size} usize=${p.usize}`);
      out(
        `PartPayload${i}: nmodes=${p.nmodes} nxattrs=${p.nxattrs} blobsize=${p.blobsize} opsize=${p.opsize}`,
      );
      const o = p.ops;
      out(
        `PartPayloadOps${i}: openspliceclose=${o.openspliceclose} open=${o.open} write=${o.write} setread=${o.setread} unsetread=${o.unsetread} close=${o.close} bspatch=${o.bspatch}`,
      );
    });
    out(`Total Part Size: ${sz(partSize)}`);
    out(`Total Part Uncompressed Size: ${sz(partUsize)}`);
    out(`Total Size: ${sz(partSize + fbSize)}`);
    out(`Total Uncompressed Size: ${sz(partUsize + fbUsize)}`);
  },
};
