import { describe, expect, it } from "vitest";
import type { Commit } from "../../../src/core/metadata.js";
import { Variant } from "../../../src/gvariant/index.js";
import { checkTimestamps, verifyBindings } from "../../../src/pull/commit-checks.js";

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
    verifyBindings("c", c, "stable", undefined);
    verifyBindings("c", c, null, undefined);
    expect(() => verifyBindings("c", c, "evil", undefined)).toThrow(
      "Commit c: Commit has no requested ref ‘evil’ in ref binding metadata (‘main’, ‘stable’)",
    );
    verifyBindings("c", base, "anything", undefined); // unbound commits are fine without a collection
  });

  it("with a remote collection ID, both bindings are required and must match", () => {
    const bound = (cid: string): Commit => ({
      ...base,
      metadata: [
        ["ostree.ref-binding", new Variant("as", ["main"])],
        ["ostree.collection-binding", new Variant("s", cid)],
      ] as Commit["metadata"],
    });
    verifyBindings("x", bound("org.a"), "main", "org.a");
    expect(() => verifyBindings("x", base, "main", "org.a")).toThrow(/ref binding information, found none/);
    expect(() => verifyBindings("x", bound("org.b"), "main", "org.a")).toThrow(
      "Commit x: Commit has collection ID ‘org.b’ in collection binding metadata, while the remote it came from has collection ID ‘org.a’",
    );
  });

  it("timestamps: newer or equal passes, older is refused naming both", () => {
    checkTimestamps("a", 100, "b", 200);
    checkTimestamps("a", 100, "b", 100);
    expect(() => checkTimestamps("a", 1706745600, "b", 1704067200)).toThrow(
      "Upgrade target revision 'b' with timestamp 'Mon Jan  1 00:00:00 2024' is chronologically older than current revision 'a' with timestamp 'Thu Feb  1 00:00:00 2024'; use --allow-downgrade to permit",
    );
  });
});
