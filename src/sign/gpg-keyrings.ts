/**
 * Which OpenPGP keys verify a GPG signature, as OSTree chooses them:
 *  - for a remote: its keyring `NAME.trustedkeys.gpg` (repo dir, else remotes.d for system repos)
 *    plus any `gpgkeypath` files/dirs (ASCII keys); only if the remote has no keyring file, the
 *    global keyrings (`$OSTREE_GPG_HOME`, else `/usr/share/ostree/trusted.gpg.d`, and the
 *    historical `/etc/pki/ostree`);
 *  - for no particular remote (`show`, `summary --view`): every `*.gpg` keyring in the repo dir
 *    plus the global keyrings;
 *  - plus a `--gpg-homedir` (its `*.gpg` keyrings, or its keybox exported through gpg).
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { findRemote, type RemotesOptions, remoteKeyringPath } from "../repo/remotes.js";
import type { Repo } from "../repo/repo.js";
import { type GpgKeyring, parseKeyrings } from "./gpg-verify.js";

/** Global keyring directories. */
export function globalKeyringDirs(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  if (env.OSTREE_GPG_HOME) return [env.OSTREE_GPG_HOME];
  return ["/usr/share/ostree/trusted.gpg.d", "/etc/pki/ostree"];
}

function readIfFile(p: string): Uint8Array | null {
  try {
    if (!statSync(p).isFile()) return null;
    return readFileSync(p);
  } catch {
    return null;
  }
}

/** Every `*.gpg` keyring in `dir` except trustdb.gpg and secring.gpg. */
export function keyringsInDir(dir: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith(".gpg") || n === "trustdb.gpg" || n === "secring.gpg") continue;
    const b = readIfFile(join(dir, n));
    if (b) out.push(b);
  }
  return out;
}

/** Keys of a GnuPG home: its `*.gpg` keyrings, and its keybox (gpg ≥ 2.1) via `gpg --export`. */
export function keyringsInHomedir(dir: string): Uint8Array[] {
  const out = keyringsInDir(dir);
  if (existsSync(join(dir, "pubring.kbx"))) {
    const r = spawnSync("gpg", ["--homedir", dir, "--batch", "--no-tty", "--export"], {
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status === 0 && r.stdout.length) out.push(new Uint8Array(r.stdout));
  }
  return out;
}

/**
 * The keys of a remote's `gpgkeypath` entries: a file is read as a keyring or key file, anything
 * else as a directory of them. As ostree, every entry must exist: a missing one (or an empty entry
 * before the last) fails with ostree's words, `opendir(PATH): No such file or directory`.
 * @throws ArborError NOT_FOUND for a missing entry, IO when one cannot be read.
 */
function gpgkeypathSources(paths: string[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of paths) {
    let names: string[];
    try {
      if (p !== "" && statSync(p).isFile()) {
        out.push(readFileSync(p));
        continue;
      }
      names = readdirSync(p).sort();
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOENT" || p === "")
        throw new ArborError("NOT_FOUND", `opendir(${p}): No such file or directory`, { cause: e });
      if (code === "ENOTDIR") throw new ArborError("IO", `opendir(${p}): Not a directory`, { cause: e });
      throw fromSystemError(`Cannot read gpgkeypath "${p}"`, e);
    }
    for (const n of names) {
      const b = readIfFile(join(p, n));
      if (b) out.push(b);
    }
  }
  return out;
}

/**
 * A `gpgkeypath` value's entries: split on `;` or `,` (not both, as ostree); a trailing separator
 * adds no entry.
 * @throws ArborError BAD_CONFIG when both separators are used (ostree's words).
 */
export function splitGpgkeypath(value: string): string[] {
  if (value === "") return [];
  if (value.includes(";") && value.includes(",")) {
    throw new ArborError("BAD_CONFIG", "key value list contains more than one separator");
  }
  const parts = value.split(/[;,]/);
  if (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

export interface KeyringOptions extends RemotesOptions {
  /** `--gpg-homedir`: add its keyrings. */
  homedir?: string;
  /** An extra keyring file. */
  extraKeyring?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * The keys OSTree would verify with for `remote` (a remote name), or for all remotes when null.
 * @throws ArborError NOT_FOUND when the named remote does not exist.
 */
export async function keyringFor(
  repo: Repo,
  remote: string | null,
  opts: KeyringOptions = {},
): Promise<GpgKeyring> {
  const sources: Uint8Array[] = [];
  let global = true;
  if (remote === null) {
    sources.push(...keyringsInDir(repo.path));
  } else {
    const r = findRemote(repo, remote, opts);
    if (!r) {
      throw new ArborError("NOT_FOUND", `Remote "${remote}" not found`, { data: { remote } });
    }
    const ring = readIfFile(remoteKeyringPath(repo, r, opts));
    if (ring) {
      sources.push(ring);
      global = false;
    }
    sources.push(...gpgkeypathSources(splitGpgkeypath(r.get("gpgkeypath") ?? "")));
  }
  if (global) for (const d of globalKeyringDirs(opts.env)) sources.push(...keyringsInDir(d));
  if (opts.homedir) sources.push(...keyringsInHomedir(opts.homedir));
  if (opts.extraKeyring) {
    const b = readIfFile(opts.extraKeyring);
    if (b) sources.push(b);
  }
  return parseKeyrings(sources);
}
