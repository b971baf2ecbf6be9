/**
 * Keys judged by their current self-signatures, as gpg: an expiry lifted after the signature was
 * made verifies again; a revoked primary key revokes its user IDs and subkeys in the listing.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeGpgKeys } from "../../../src/sign/gpg-import.js";
import { describeGpgSignature, gpgVerifyData, parseKeyrings } from "../../../src/sign/gpg-verify.js";

let dir: string;
let home: string;
let fpr: string;
let subFpr: string;
const data = new TextEncoder().encode("signed bytes\n");

function gpg(args: string[], faked?: string): Buffer {
  return execFileSync(
    "gpg",
    [
      "--homedir",
      home,
      "--batch",
      "--no-tty",
      "--yes",
      ...(faked ? ["--faked-system-time", faked] : []),
      ...args,
    ],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
}
function fprs(): string[] {
  return [
    ...gpg(["--with-colons", "--list-keys"])
      .toString()
      .matchAll(/^fpr:(?:[^:]*:){8}([0-9A-F]+):/gm),
  ].map((m) => m[1]!);
}
function signAt(keyId: string, faked: string): Uint8Array {
  const f = join(dir, "data");
  execFileSync("sh", ["-c", 'printf "signed bytes\\n" > "$1"', "sh", f]);
  return new Uint8Array(gpg(["--local-user", `${keyId}!`, "--detach-sign", "--output", "-", f], faked));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "arbor-gpg-state-"));
  home = join(dir, "gnupg");
  mkdirSync(home);
  chmodSync(home, 0o700);
  gpg(
    ["--passphrase", "", "--quick-gen-key", "State Key <state@example.com>", "ed25519", "sign", "0"],
    "20250101T000000",
  );
  fpr = fprs()[0]!;
  gpg(["--passphrase", "", "--quick-add-key", fpr, "ed25519", "sign", "0"], "20250101T000100");
  subFpr = fprs()[1]!;
}, 60_000);
afterAll(() => {
  try {
    execFileSync("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
  } catch {}
  rmSync(dir, { recursive: true, force: true });
});

describe("GPG key state", () => {
  it("a key whose expiry was set and then lifted after the signature verifies as good", async () => {
    const sig = signAt(fpr, "20250102T000000");
    gpg(["--quick-set-expire", fpr, "seconds=1"], "20250103T000000");
    const expired = await gpgVerifyData(data, [sig], await parseKeyrings([gpg(["--export", fpr])]));
    expect(expired.signatures[0]!.valid).toBe(false);
    expect(expired.signatures[0]!.keyExpired).toBe(true);

    gpg(["--quick-set-expire", fpr, "0"], "20250104T000000");
    const ring = await parseKeyrings([gpg(["--export", fpr])]);
    const r = await gpgVerifyData(data, [sig], ring);
    expect(r.signatures[0]!.valid).toBe(true);
    expect(describeGpgSignature(r.signatures[0]!)).toMatch(
      /Good signature from "State Key <state@example\.com>"/,
    );
    // still a real check: other bytes do not verify
    const bad = await gpgVerifyData(new TextEncoder().encode("other\n"), [sig], ring);
    expect(bad.signatures[0]!.valid).toBe(false);
  });

  it("a subkey's signature verifies through its binding, naming the primary key", async () => {
    const sig = signAt(subFpr, "20250105T000000");
    const r = await gpgVerifyData(data, [sig], await parseKeyrings([gpg(["--export", fpr])]));
    expect(r.signatures[0]!.valid).toBe(true);
    expect(describeGpgSignature(r.signatures[0]!)).toContain(`Primary key ID ${fpr.slice(-16)}`);
  });

  it("lists a revoked key's user IDs and subkeys as revoked", async () => {
    const ring = await parseKeyrings([gpg(["--export", fpr])]);
    expect(await describeGpgKeys(ring.keys)).not.toContain("(revoked)");
    // gpg writes a revocation certificate at key creation, its armor guarded by a leading ':'
    const cert = readFileSync(join(home, "openpgp-revocs.d", `${fpr}.rev`), "utf8").replace(
      /^:-----BEGIN/m,
      "-----BEGIN",
    );
    execFileSync("gpg", ["--homedir", home, "--batch", "--no-tty", "--import"], {
      input: cert,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const text = await describeGpgKeys((await parseKeyrings([gpg(["--export", fpr])])).keys);
    expect(text).toMatch(new RegExp(`^Key: ${fpr} \\(revoked\\)$`, "m"));
    expect(text).toMatch(/^ {2}UID: State Key <state@example\.com> \(revoked\)$/m);
    expect(text).toMatch(new RegExp(`^ {2}Subkey: ${subFpr} \\(revoked\\)$`, "m"));
  });
});
