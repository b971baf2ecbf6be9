/**
 * GnuPG fixtures for signature tests: a private GnuPG home with keys made on the spot — a good
 * key, a second good key, a key that has expired (made and used with gpg's faked clock in 2020),
 * and a revoked key — plus helpers to export public keys and sign with a faked clock.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface GpgHome {
  home: string;
  good: string;
  other: string;
  expired: string;
  /** A key that is valid in this home but revoked in {@link GpgHome.exportRevoked}'s output. */
  revoked: string;
  /** Public key of `revoked` together with its revocation certificate (a revoked key). */
  exportRevoked(): Buffer;
  /** Binary public keyring of the given fingerprints. */
  exportKeys(...fprs: string[]): Buffer;
  /** Detached binary signature made by gpg directly, optionally at a faked time (YYYYMMDDThhmmss). */
  sign(data: string, fpr: string, fakedTime?: string): Buffer;
  /** Stop the gpg-agent this home started. */
  kill(): void;
}

function gpg(home: string, args: string[], input?: Buffer | string): Buffer {
  return execFileSync("gpg", ["--homedir", home, "--batch", "--no-tty", "--yes", ...args], {
    input,
    stdio: ["pipe", "pipe", "pipe"],
  });
}

function fprOf(home: string, uid: string): string {
  const out = gpg(home, ["--with-colons", "--list-keys", uid]).toString();
  return /^fpr:(?:[^:]*:){8}([0-9A-F]+):/m.exec(out)![1]!;
}

function genKey(home: string, uid: string, expire = "0", faked?: string): string {
  gpg(home, [
    ...(faked ? ["--faked-system-time", faked] : []),
    "--passphrase",
    "",
    "--quick-gen-key",
    uid,
    "ed25519",
    "sign",
    expire,
  ]);
  return fprOf(home, uid);
}

/** Make a GnuPG home under `dir` with the four keys. Takes a few seconds. */
export function makeGpgHome(dir: string): GpgHome {
  const home = join(dir, "gnupg");
  mkdirSync(home, { recursive: true });
  chmodSync(home, 0o700);
  const good = genKey(home, "Arbor Good <good@example.com>");
  const other = genKey(home, "Arbor Other <other@example.com>");
  const expired = genKey(home, "Arbor Expired <expired@example.com>", "1d", "20200101T000000");
  const revoked = genKey(home, "Arbor Revoked <revoked@example.com>");
  const revDir = join(home, "openpgp-revocs.d");
  const revFile = readdirSync(revDir).find((n) => n.startsWith(revoked))!;
  const cert = readFileSync(join(revDir, revFile), "utf8").replace(/^:-----/m, "-----");
  const exportRevoked = (): Buffer => {
    // a throwaway home holding the public key plus its revocation
    const tmp = join(dir, `gnupg-revoked-${process.pid}-${Date.now()}`);
    mkdirSync(tmp, { recursive: true });
    chmodSync(tmp, 0o700);
    gpg(tmp, ["--import"], gpg(home, ["--export", revoked]));
    gpg(tmp, ["--import"], cert);
    const out = gpg(tmp, ["--export", revoked]);
    try {
      execFileSync("gpgconf", ["--homedir", tmp, "--kill", "all"], { stdio: "ignore" });
    } catch {}
    return out;
  };
  return {
    home,
    good,
    other,
    expired,
    revoked,
    exportRevoked,
    exportKeys: (...fprs) => gpg(home, ["--export", ...fprs]),
    sign: (data, fpr, faked) =>
      gpg(
        home,
        [
          ...(faked ? ["--faked-system-time", faked] : []),
          "--local-user",
          fpr,
          "--detach-sign",
          "--output",
          "-",
        ],
        data,
      ),
    kill: () => {
      try {
        execFileSync("gpgconf", ["--homedir", home, "--kill", "all"], { stdio: "ignore" });
      } catch {}
    },
  };
}
