import { describe, expect, it } from "vitest";
import { summaryNeed } from "../../../src/pull/summary-need.js";
import { KeyFile } from "../../../src/repo/config.js";
import { Remote } from "../../../src/repo/remotes.js";
import { MemoryFetcher } from "./_fetcher.js";

const CS = "a".repeat(64);
const enc = (s: string) => new TextEncoder().encode(s);

function remote(extra = ""): Remote {
  return new Remote("origin", KeyFile.parse(`[remote "origin"]\nurl=http://x/\n${extra}`), null);
}

function fetcher(config?: string): MemoryFetcher {
  return new MemoryFetcher(new Map(config === undefined ? [] : [["config", enc(config)]]));
}

describe("summaryNeed (as ostree 2022.7 decides whether to fetch the summary)", () => {
  const indexed = "[core]\nrepo_version=1\nindexed-deltas=true\n";

  it("a ref without its commit, a mirror of every ref, or configured branches need the summary", async () => {
    const f = fetcher(indexed);
    expect(await summaryNeed(remote(), f, { refs: ["main"], deltasOff: true })).toBe("summary");
    expect(await summaryNeed(remote(), f, { refs: [`main@${CS}`, "other"], deltasOff: true })).toBe(
      "summary",
    );
    expect(await summaryNeed(remote(), f, { mirror: true, deltasOff: true })).toBe("summary");
    expect(await summaryNeed(remote("branches=main;\n"), f, { deltasOff: false })).toBe("summary");
    expect(f.log).toEqual([]);
  });

  it("commits named: no summary when deltas are off, or indexed on the remote (its config says so)", async () => {
    const f = fetcher(indexed);
    expect(await summaryNeed(remote(), f, { refs: [`main@${CS}`, CS], deltasOff: true })).toBe("none");
    expect(f.log).toEqual([]);
    expect(await summaryNeed(remote(), f, { refs: [`main@${CS}`], deltasOff: false })).toBe("indexed");
    expect(f.log).toEqual(["config"]);
    expect(await summaryNeed(remote(`branches=main@${CS};\n`), f, { deltasOff: false })).toBe("indexed");
  });

  it("deltas not indexed, no config, or a config that does not parse: the summary", async () => {
    for (const f of [
      fetcher("[core]\nrepo_version=1\n"),
      fetcher(),
      fetcher("not a key file"),
      fetcher("[core]\nindexed-deltas=maybe\n"),
    ]) {
      expect(await summaryNeed(remote(), f, { refs: [`main@${CS}`], deltasOff: false })).toBe("summary");
    }
  });
});
