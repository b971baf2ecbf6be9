import { describe, expect, it } from "vitest";
import type { Commit } from "../../../src/core/metadata.js";
import { Variant } from "../../../src/gvariant/index.js";
import { checkCollectionBinding, checkRefBinding, checkTimestamps } from "../../../src/pull/commit-checks.js";

const base: Commit = {
  metadata: [],
  parent: null,
  related: [],
  subject: "",
  body: "",
  timestamp: 0,
  rootTree: "0".repeat(64),
  rootMeta: "0".repeat(64),
};

describe("commit checks before the tree is walked", () => {
  it("ref binding: a commit bound to other refs is refused, naming them", () => {
    const c = {
      ...base,
      metadata: [["ostree.ref-binding", new Variant("as", ["main", "stable"])]] as Commit["metadata"],
    };
    checkRefBinding("c".repeat(64), c, "stable");
    expect(() => checkRefBinding("c".repeat(64), c, "evil")).toThrow(
      `Commit ${"c".repeat(64)} has no requested ref ‘evil’ in ref binding metadata (‘main’, ‘stable’)`,
    );
    checkRefBinding("c".repeat(64), base, "anything"); // unbound commits are fine
  });

  it("collection binding must match the remote's collection ID", () => {
    const c = {
      ...base,
      metadata: [["ostree.collection-binding", new Variant("s", "org.a")]] as Commit["metadata"],
    };
    checkCollectionBinding("x", c, "org.a");
    checkCollectionBinding("x", c, undefined);
    expect(() => checkCollectionBinding("x", c, "org.b")).toThrow(/collection ID ‘org.a’/);
  });

  it("timestamps: newer or equal passes, older is refused naming both", () => {
    checkTimestamps("a", 100, "b", 200);
    checkTimestamps("a", 100, "b", 100);
    expect(() => checkTimestamps("a", 1706745600, "b", 1704067200)).toThrow(
      "Upgrade target revision 'b' with timestamp 'Mon Jan  1 00:00:00 2024' is chronologically older than current revision 'a' with timestamp 'Thu Feb  1 00:00:00 2024'; use --allow-downgrade to permit",
    );
  });
});
