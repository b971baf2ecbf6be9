import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { decodeVarDict } from "../../../src/core/metadata.js";
import { ed25519Engine, generateEd25519KeyPair } from "../../../src/sign/ed25519.js";
import { getSignEngine } from "../../../src/sign/engine.js";
import { loadSystemKeys, readKeysFile } from "../../../src/sign/keys.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-ed25519-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A key made by OpenSSL, in OSTree's formats (as libtest.sh's gen_ed25519_keys does). */
function opensslKey(name: string): { pem: string; pubPem: string; secret: string; public: string } {
  const pem = join(dir, `${name}.pem`);
  const pubPem = join(dir, `${name}.pub.pem`);
  execFileSync("openssl", ["genpkey", "-algorithm", "ed25519", "-out", pem]);
  execFileSync("openssl", ["pkey", "-in", pem, "-pubout", "-out", pubPem]);
  const seed = execFileSync("openssl", ["pkey", "-in", pem, "-outform", "DER"]).subarray(-32);
  const pub = execFileSync("openssl", ["pkey", "-in", pem, "-pubout", "-outform", "DER"]).subarray(-32);
  return {
    pem,
    pubPem,
    secret: Buffer.concat([seed, pub]).toString("base64"),
    public: pub.toString("base64"),
  };
}

describe("ed25519", () => {
  it("signs the same bytes OpenSSL signs, and each verifies the other's signature", () => {
    const k = opensslKey("a");
    const data = new TextEncoder().encode("the exact bytes of a .commit object\n");
    const dataFile = join(dir, "data");
    writeFileSync(dataFile, data);
    const ours = ed25519Engine.sign(data, ed25519Engine.parseSecretKey(k.secret));
    writeFileSync(join(dir, "ours.sig"), ours);
    const out = execFileSync("openssl", [
      "pkeyutl",
      "-verify",
      "-pubin",
      "-inkey",
      k.pubPem,
      "-rawin",
      "-in",
      dataFile,
      "-sigfile",
      join(dir, "ours.sig"),
    ]).toString();
    expect(out).toMatch(/Signature Verified Successfully/);
    execFileSync("openssl", [
      "pkeyutl",
      "-sign",
      "-inkey",
      k.pem,
      "-rawin",
      "-in",
      dataFile,
      "-out",
      join(dir, "theirs.sig"),
    ]);
    const theirs = readFileSync(join(dir, "theirs.sig"));
    expect(theirs.length).toBe(64);
    expect(Buffer.compare(theirs, Buffer.from(ours))).toBe(0); // Ed25519 is deterministic
    const msg = ed25519Engine.verify(data, [theirs], {
      trusted: [ed25519Engine.parsePublicKey(k.public)],
      revoked: [],
    });
    expect(msg).toBe(
      `ed25519: Signature verified successfully with key '${Buffer.from(k.public, "base64").toString("hex")}'`,
    );
  });

  it("OpenSSL rejects a signature over different bytes", () => {
    const k = opensslKey("b");
    const sig = ed25519Engine.sign(new Uint8Array([1, 2, 3]), ed25519Engine.parseSecretKey(k.secret));
    writeFileSync(join(dir, "d"), new Uint8Array([1, 2, 4]));
    writeFileSync(join(dir, "s"), sig);
    expect(() =>
      execFileSync(
        "openssl",
        [
          "pkeyutl",
          "-verify",
          "-pubin",
          "-inkey",
          k.pubPem,
          "-rawin",
          "-in",
          join(dir, "d"),
          "-sigfile",
          join(dir, "s"),
        ],
        { stdio: "pipe" },
      ),
    ).toThrow();
  });

  it("verifies the upstream pre-signed fixture with its published key", () => {
    const tarball = "/usr/libexec/installed-tests/libostree/pre-signed-pull-data.tar.gz";
    execFileSync("tar", ["xzf", tarball, "-C", dir]);
    const objs = join(dir, "repo", "objects");
    let commit = "";
    for (const d of readdirSync(objs))
      for (const f of readdirSync(join(objs, d)))
        if (f.endsWith(".commitmeta")) commit = d + f.slice(0, -".commitmeta".length);
    expect(commit).toMatch(/^[0-9a-f]{64}$/);
    const bytes = readFileSync(join(objs, commit.slice(0, 2), `${commit.slice(2)}.commit`));
    const meta = decodeVarDict(readFileSync(join(objs, commit.slice(0, 2), `${commit.slice(2)}.commitmeta`)));
    const sigs = meta.find(([k]) => k === "ostree.sign.ed25519")![1].value as Uint8Array[];
    const pk = ed25519Engine.parsePublicKey("45yzbkuEok0lLabxzdAHWUDSMZgYfxU40sN+LMfYHVA=");
    expect(ed25519Engine.verify(bytes, sigs, { trusted: [pk], revoked: [] })).toMatch(
      /verified successfully/,
    );
    const wrong = ed25519Engine.parsePublicKey(generateEd25519KeyPair().public);
    expect(() => ed25519Engine.verify(bytes, sigs, { trusted: [wrong], revoked: [] })).toThrow(
      /ed25519: Signature couldn't be verified with: key '[0-9a-f]{64}'/,
    );
    expect(() => ed25519Engine.verify(bytes, sigs, { trusted: [pk], revoked: [pk] })).toThrow(/no usable/);
  });

  it("rejects keys and signatures of the wrong size", () => {
    expect(() => ed25519Engine.parsePublicKey("AAAA")).toThrow(/Invalid ed25519 public key/);
    expect(() => ed25519Engine.parseSecretKey("AAAA")).toThrow(/Invalid ed25519 secret key/);
    const kp = generateEd25519KeyPair();
    expect(() =>
      ed25519Engine.verify(new Uint8Array(1), [new Uint8Array(10)], {
        trusted: [ed25519Engine.parsePublicKey(kp.public)],
        revoked: [],
      }),
    ).toThrow(/Invalid signature/);
    expect(() => ed25519Engine.verify(new Uint8Array(1), [], { trusted: [], revoked: [] })).toThrow(
      /no signatures found/,
    );
  });

  it("says 'tried N keys' past three wrong keys", () => {
    const kp = generateEd25519KeyPair();
    const sig = ed25519Engine.sign(new Uint8Array([9]), ed25519Engine.parseSecretKey(kp.secret));
    const wrong = Array.from({ length: 5 }, () =>
      ed25519Engine.parsePublicKey(generateEd25519KeyPair().public),
    );
    expect(() => ed25519Engine.verify(new Uint8Array([9]), [sig], { trusted: wrong, revoked: [] })).toThrow(
      "ed25519: Signature couldn't be verified; tried 5 keys",
    );
  });

  it("keys files: one base64 key per line, bad lines skipped, no valid key is an error", () => {
    const a = generateEd25519KeyPair();
    const b = generateEd25519KeyPair();
    writeFileSync(join(dir, "keys"), `${a.public}\n\nnot-a-key\n${b.public}\n`);
    expect(readKeysFile(ed25519Engine, join(dir, "keys"), "public")).toHaveLength(2);
    writeFileSync(join(dir, "bad"), "xx\n");
    expect(() => readKeysFile(ed25519Engine, join(dir, "bad"), "public")).toThrow(/no valid keys in file/);
    expect(() => readKeysFile(ed25519Engine, join(dir, "nope"), "public")).toThrow(/is not a regular file/);
  });

  it("system keys: trusted.ed25519{,.d} and revoked.ed25519 under a base dir", () => {
    const a = generateEd25519KeyPair();
    const b = generateEd25519KeyPair();
    mkdirSync(join(dir, "trusted.ed25519.d"));
    writeFileSync(join(dir, "trusted.ed25519"), `${a.public}\n`);
    writeFileSync(join(dir, "trusted.ed25519.d", "x"), `${b.public}\n`);
    writeFileSync(join(dir, "revoked.ed25519"), `${b.public}\n`);
    const set = loadSystemKeys(ed25519Engine, dir);
    expect(set.trusted).toHaveLength(2);
    expect(set.revoked).toHaveLength(1);
    expect(() => loadSystemKeys(ed25519Engine, join(dir, "empty"))).toThrow(
      "signature: ed25519: no keys loaded",
    );
  });

  it("getSignEngine() knows ed25519, gates dummy, refuses others", async () => {
    expect((await getSignEngine("ed25519")).metadataKey).toBe("ostree.sign.ed25519");
    const off = await getSignEngine("dummy", {});
    expect(() => off.parsePublicKey("x")).toThrow(/only for ostree testing/);
    expect((await getSignEngine("dummy", { OSTREE_DUMMY_SIGN_ENABLED: "1" })).name).toBe("dummy");
    await expect(getSignEngine("rsa")).rejects.toThrow("Requested signature type is not implemented");
  });
});
