import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Variant } from "../../../src/gvariant/index.js";
import { commitTree } from "../../../src/repo/commit.js";
import { readRef } from "../../../src/repo/refs.js";
import { addRemote, getRemote } from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";
import {
  deleteCommitSignatures,
  signaturesIn,
  signCommit,
  verifyCommitSignature,
} from "../../../src/sign/commit-sign.js";
import { ed25519Engine, generateEd25519KeyPair } from "../../../src/sign/ed25519.js";
import { commitSignatureMetadata } from "../../../src/sign/index.js";
import { verifyCommitForRemote, verifyPolicyFor } from "../../../src/sign/remote-verify.js";

let dir: string;
let repo: Repo;
let commit: string;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "arbor-csign-"));
  repo = Repo.create(join(dir, "repo"), { mode: "bare-user" });
  mkdirSync(join(dir, "t"));
  writeFileSync(join(dir, "t", "f"), "x");
  commit = (
    await commitTree(repo, {
      trees: [{ kind: "dir", path: join(dir, "t") }],
      branch: "main",
      detachedMetadata: [["keep", new Variant("s", "me")]],
    })
  ).commit;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("commit signatures", () => {
  it("signCommit() appends ed25519 signatures to .commitmeta, keeping other keys, without duplicates", async () => {
    const a = generateEd25519KeyPair();
    const b = generateEd25519KeyPair();
    expect(await signCommit(repo, commit, ed25519Engine, [ed25519Engine.parseSecretKey(a.secret)])).toBe(1);
    expect(
      await signCommit(repo, commit, ed25519Engine, [
        ed25519Engine.parseSecretKey(a.secret),
        ed25519Engine.parseSecretKey(b.secret),
      ]),
    ).toBe(1);
    const meta = repo.loadCommitMeta(commit)!;
    expect(meta.find(([k]) => k === "keep")![1].value).toBe("me");
    expect(signaturesIn(meta, "ostree.sign.ed25519")).toHaveLength(2);
    const bytes = repo.readMetadata("commit", commit);
    for (const s of signaturesIn(meta, "ostree.sign.ed25519")) expect(s.length).toBe(64);
    expect(
      verifyCommitSignature(repo, commit, ed25519Engine, {
        trusted: [ed25519Engine.parsePublicKey(b.public)],
        revoked: [],
      }),
    ).toMatch(/verified successfully/);
    expect(bytes.length).toBeGreaterThan(0);
  });

  it("verifyCommitSignature() on an unsigned commit says so", () => {
    expect(() => verifyCommitSignature(repo, commit, ed25519Engine, { trusted: [], revoked: [] })).toThrow(
      "ed25519: commit have no signatures of my type",
    );
  });

  it("deleteCommitSignatures() removes only the given key's signatures", async () => {
    const a = generateEd25519KeyPair();
    const b = generateEd25519KeyPair();
    await signCommit(
      repo,
      commit,
      ed25519Engine,
      [a, b].map((k) => ed25519Engine.parseSecretKey(k.secret)),
    );
    expect(
      await deleteCommitSignatures(repo, commit, ed25519Engine, [ed25519Engine.parsePublicKey(a.public)]),
    ).toBe(1);
    const pkA = { trusted: [ed25519Engine.parsePublicKey(a.public)], revoked: [] };
    expect(() => verifyCommitSignature(repo, commit, ed25519Engine, pkA)).toThrow(/couldn't be verified/);
    expect(signaturesIn(repo.loadCommitMeta(commit), "ostree.sign.ed25519")).toHaveLength(1);
  });

  it("a remote with sign-verify=ed25519 requires a signature by its key, naming the commit", async () => {
    const a = generateEd25519KeyPair();
    const other = generateEd25519KeyPair();
    addRemote(repo, {
      name: "good",
      url: "http://x",
      options: [
        ["gpg-verify", false],
        ["verification-ed25519-key", a.public],
        ["sign-verify", "ed25519"],
      ],
    });
    addRemote(repo, {
      name: "bad",
      url: "http://x",
      options: [
        ["gpg-verify", false],
        ["verification-ed25519-key", other.public],
        ["sign-verify", "ed25519"],
      ],
    });
    const bytes = repo.readMetadata("commit", commit);
    const good = await verifyPolicyFor(getRemote(repo, "good"));
    await expect(
      verifyCommitForRemote(repo, good, commit, bytes, repo.loadCommitMeta(commit)),
    ).rejects.toThrow(`Commit ${commit}: Can't verify commit: No signatures found`);
    await signCommit(repo, commit, ed25519Engine, [ed25519Engine.parseSecretKey(a.secret)]);
    expect(await verifyCommitForRemote(repo, good, commit, bytes, repo.loadCommitMeta(commit))).toMatch(
      /ed25519: Signature verified/,
    );
    const bad = await verifyPolicyFor(getRemote(repo, "bad"));
    await expect(
      verifyCommitForRemote(repo, bad, commit, bytes, repo.loadCommitMeta(commit)),
    ).rejects.toThrow(/ed25519: Signature couldn't be verified with: key/);
  });

  it("a remote with sign-verify=ed25519 and no keys is a configuration error", async () => {
    addRemote(repo, { name: "nokeys", url: "http://x", options: [["sign-verify", "ed25519"]] });
    await expect(verifyPolicyFor(getRemote(repo, "nokeys"))).rejects.toThrow(
      "No keys found for required signapi type ed25519",
    );
  });

  it("gpg-verify defaults to true: an unsigned commit is refused", async () => {
    addRemote(repo, { name: "g", url: "http://x" });
    const p = await verifyPolicyFor(getRemote(repo, "g"));
    await expect(
      verifyCommitForRemote(
        repo,
        p,
        commit,
        repo.readMetadata("commit", commit),
        repo.loadCommitMeta(commit),
      ),
    ).rejects.toThrow("GPG verification enabled, but no signatures found");
  });

  it("commitTree() with signDetached stores the signatures before the ref moves, keeping other detached keys", async () => {
    const a = generateEd25519KeyPair();
    writeFileSync(join(dir, "t", "f"), "y");
    const r = await commitTree(repo, {
      trees: [{ kind: "dir", path: join(dir, "t") }],
      branch: "main",
      detachedMetadata: [["keep", new Variant("s", "me")]],
      signDetached: (cs, bytes, meta) =>
        commitSignatureMetadata(cs, bytes, meta, { keys: [a.secret], gpgKeys: [] }),
    });
    expect(readRef(repo, "main")).toBe(r.commit);
    const meta = repo.loadCommitMeta(r.commit);
    expect(meta?.find(([k]) => k === "keep")).toBeDefined();
    expect(signaturesIn(meta, ed25519Engine.metadataKey)).toHaveLength(1);
    expect(
      verifyCommitSignature(repo, r.commit, ed25519Engine, {
        trusted: [ed25519Engine.parsePublicKey(a.public)],
        revoked: [],
      }),
    ).toContain("Signature verified successfully");
  });

  it("commitTree() whose signing fails stores no commit and leaves the ref where it was", async () => {
    writeFileSync(join(dir, "t", "f"), "z");
    await expect(
      commitTree(repo, {
        trees: [{ kind: "dir", path: join(dir, "t") }],
        branch: "main",
        timestamp: 1000,
        signDetached: (cs, bytes, meta) =>
          commitSignatureMetadata(cs, bytes, meta, { keys: ["not-a-key"], gpgKeys: [] }),
      }),
    ).rejects.toThrow();
    expect(readRef(repo, "main")).toBe(commit);
    const dry = await commitTree(repo, {
      trees: [{ kind: "dir", path: join(dir, "t") }],
      branch: "main",
      timestamp: 1000,
      dryRun: true,
    });
    expect(repo.hasObject("commit", dry.commit)).toBe(false);
  });
});
