import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Variant } from "../../../src/gvariant/index.js";
import { commitTree } from "../../../src/repo/commit.js";
import { addRemote } from "../../../src/repo/remotes.js";
import { Repo } from "../../../src/repo/repo.js";
import { describeCommitGpgSignatures } from "../../../src/sign/describe.js";
import { gpgSignCommit, gpgSignData } from "../../../src/sign/gpg-sign.js";
import {
  describeGpgSignature,
  gpgVerifyData,
  parseKeyrings,
  requireValidGpgSignature,
} from "../../../src/sign/gpg-verify.js";
import { gpgVerifyForRemote } from "../../../src/sign/remote-verify.js";
import { type GpgHome, makeGpgHome } from "./_gpg.js";

let dir: string;
let g: GpgHome;
const data = new TextEncoder().encode("signed bytes\n");

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-gpg-"));
  g = makeGpgHome(dir);
}, 120_000);
afterAll(() => {
  g?.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe("gpg", () => {
  it("gpgSignData() signs through gpg; openpgp verifies it with the public key", async () => {
    const sig = await gpgSignData(data, g.good, g.home);
    const r = await gpgVerifyData(data, [sig], await parseKeyrings([g.exportKeys(g.good)]));
    expect(r.signatures).toHaveLength(1);
    const s = r.signatures[0]!;
    expect(s.valid).toBe(true);
    expect(s.fingerprint).toBe(g.good);
    expect(s.userName).toBe("Arbor Good");
    expect(s.userEmail).toBe("good@example.com");
    expect(describeGpgSignature(s)).toMatch(
      new RegExp(
        `^Signature made .* using EdDSA key ID ${g.good.slice(-16)}\\nGood signature from "Arbor Good <good@example.com>"\\n$`,
      ),
    );
    requireValidGpgSignature(r);
  });

  it("a key that is not in the keyring: public key not found", async () => {
    const sig = await gpgSignData(data, g.good, g.home);
    const r = await gpgVerifyData(data, [sig], await parseKeyrings([g.exportKeys(g.other)]));
    expect(r.signatures[0]!.keyMissing).toBe(true);
    expect(() => requireValidGpgSignature(r)).toThrow(/Can't check signature: public key not found/);
  });

  it("tampered data: BAD signature", async () => {
    const sig = await gpgSignData(data, g.good, g.home);
    const r = await gpgVerifyData(
      new TextEncoder().encode("other"),
      [sig],
      await parseKeyrings([g.exportKeys(g.good)]),
    );
    expect(r.signatures[0]!.valid).toBe(false);
    expect(() => requireValidGpgSignature(r)).toThrow(/BAD signature from "Arbor Good <good@example.com>"/);
  });

  it("an expired key fails, naming the expiry", async () => {
    const sig = g.sign("signed bytes\n", g.expired, "20200101T010000");
    const r = await gpgVerifyData(data, [sig], await parseKeyrings([g.exportKeys(g.expired)]));
    const s = r.signatures[0]!;
    expect(s.keyExpired).toBe(true);
    expect(s.valid).toBe(false);
    expect(() => requireValidGpgSignature(r)).toThrow(/Key expired/);
  });

  it("a revoked key fails", async () => {
    const sig = await gpgSignData(data, g.revoked, g.home);
    const ok = await gpgVerifyData(data, [sig], await parseKeyrings([g.exportKeys(g.revoked)]));
    expect(ok.signatures[0]!.valid).toBe(true);
    const r = await gpgVerifyData(data, [sig], await parseKeyrings([g.exportRevoked()]));
    expect(r.signatures[0]!.keyRevoked).toBe(true);
    expect(() => requireValidGpgSignature(r)).toThrow(/Key revoked/);
  });

  it("any valid signature among several is enough", async () => {
    const a = await gpgSignData(data, g.other, g.home);
    const b = await gpgSignData(data, g.good, g.home);
    const r = await gpgVerifyData(data, [a, b], await parseKeyrings([g.exportKeys(g.good)]));
    expect(r.signatures.map((s) => s.valid)).toEqual([false, true]);
    requireValidGpgSignature(r);
  });

  it("gpgSignCommit() stores ostree.gpgsigs; a remote's keyring verifies it; re-signing is refused", async () => {
    const repo = Repo.create(join(dir, "repo"), { mode: "archive" });
    mkdirSync(join(dir, "t"));
    writeFileSync(join(dir, "t", "f"), "x");
    const { commit } = await commitTree(repo, {
      trees: [{ kind: "dir", path: join(dir, "t") }],
      branch: "main",
      detachedMetadata: [["keep", new Variant("s", "me")]],
    });
    await gpgSignCommit(repo, commit, g.good, g.home);
    const meta = repo.loadCommitMeta(commit)!;
    expect(meta.map(([k]) => k).sort()).toEqual(["keep", "ostree.gpgsigs"]);
    await expect(gpgSignCommit(repo, commit, g.good, g.home)).rejects.toThrow(
      `Commit is already signed with GPG key ${g.good}`,
    );
    addRemote(repo, { name: "origin", url: "http://x" });
    writeFileSync(join(repo.path, "origin.trustedkeys.gpg"), g.exportKeys(g.good));
    const r = await gpgVerifyForRemote(repo, "origin", repo.readMetadata("commit", commit), meta);
    requireValidGpgSignature(r);
    addRemote(repo, { name: "wrong", url: "http://x" });
    writeFileSync(join(repo.path, "wrong.trustedkeys.gpg"), g.exportKeys(g.other));
    const r2 = await gpgVerifyForRemote(repo, "wrong", repo.readMetadata("commit", commit), meta, {
      env: { OSTREE_GPG_HOME: join(dir, "none") },
    });
    expect(() => requireValidGpgSignature(r2)).toThrow(/public key not found/);
    const shown = await describeCommitGpgSignatures(repo, commit);
    expect(shown).toMatch(
      /^Found 1 signature:\n\n {2}Signature made .*\n {2}Good signature from "Arbor Good/,
    );
  });

  it("gpgSignData() names a missing key", async () => {
    await expect(gpgSignData(data, "DEADBEEFDEADBEEF", g.home)).rejects.toThrow(
      `No gpg key found with ID DEADBEEFDEADBEEF (homedir: ${g.home})`,
    );
  });
});
