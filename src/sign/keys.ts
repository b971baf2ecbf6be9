/**
 * Where signapi keys come from (fact sheet §4.3):
 *  - keys files: one base64 key per line (`--keys-file`, `verification-ed25519-file`);
 *  - inline: `verification-ed25519-key=BASE64` on a remote;
 *  - system: `/etc/ostree/trusted.ed25519`, `/etc/ostree/trusted.ed25519.d/*`,
 *    `/usr/share/ostree/trusted.ed25519{,.d/*}`, and `revoked.ed25519{,.d/*}` likewise (or under a
 *    custom base directory, `sign --keys-dir`).
 * A file loads if at least one line is a valid key; bad lines are skipped.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ArborError, fromSystemError } from "../errors.js";
import type { PublicKeySet, SignEngine } from "./engine.js";

/** Default base directories for system keys, in OSTree's order. */
export const SYSTEM_KEY_DIRS = ["/etc/ostree", "/usr/share/ostree"];

/**
 * Read every valid key from a keys file.
 * @param kind "public" or "secret": which parser of `engine` applies.
 * @throws ArborError NOT_FOUND / BAD_CONFIG when the file is not a regular file or holds no valid key.
 */
export function readKeysFile(engine: SignEngine, path: string, kind: "public" | "secret"): Uint8Array[] {
  let st: import("node:fs").Stats;
  try {
    st = statSync(path);
  } catch {
    throw new ArborError("NOT_FOUND", `File object '${path}' is not a regular file`);
  }
  if (!st.isFile()) throw new ArborError("NOT_FOUND", `File object '${path}' is not a regular file`);
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw fromSystemError(`Cannot read keys file "${path}"`, e);
  }
  const keys: Uint8Array[] = [];
  let firstError: unknown = null;
  const text = data.toString("utf8").split("\n");
  if (text[text.length - 1] === "") text.pop();
  for (const line of text) {
    try {
      // base64 engines take the text; the dummy engine takes the line as is
      const key = engine.name === "dummy" ? line : line.trim();
      keys.push(kind === "public" ? engine.parsePublicKey(key) : engine.parseSecretKey(key));
    } catch (e) {
      firstError ??= e;
    }
  }
  if (keys.length === 0) {
    const why = firstError instanceof Error ? `: ${firstError.message}` : "";
    throw new ArborError("BAD_CONFIG", `signature: ${engine.name}: no valid keys in file '${path}'${why}`);
  }
  return keys;
}

function loadDirKeys(engine: SignEngine, base: string, trusted: boolean, into: Uint8Array[]): boolean {
  const file = join(base, `${trusted ? "trusted" : "revoked"}.${engine.name}`);
  const files = [file];
  try {
    for (const n of readdirSync(`${file}.d`).sort()) files.push(join(`${file}.d`, n));
  } catch {
    // no .d directory
  }
  let any = false;
  for (const f of files) {
    try {
      into.push(...readKeysFile(engine, f, "public"));
      any = true;
    } catch {
      // a missing or empty file is skipped, as OSTree does
    }
  }
  return any;
}

/**
 * Trusted and revoked keys from the system locations (or `basedir`).
 * @throws ArborError SIGNATURE_MISSING "signature: ed25519: no keys loaded" when no trusted key was found.
 */
export function loadSystemKeys(engine: SignEngine, basedir?: string): PublicKeySet {
  const set: PublicKeySet = { trusted: [], revoked: [] };
  const bases = basedir ? [basedir] : SYSTEM_KEY_DIRS;
  let any = false;
  for (const b of bases) if (loadDirKeys(engine, b, true, set.trusted)) any = true;
  for (const b of bases) loadDirKeys(engine, b, false, set.revoked);
  if (!any) throw new ArborError("SIGNATURE_MISSING", `signature: ${engine.name}: no keys loaded`);
  return set;
}

/** Keys for `sign --verify`: a keys file, else the system locations (plus revoked ones). */
export function loadVerificationKeys(
  engine: SignEngine,
  opts: { keysFile?: string; keysDir?: string },
): PublicKeySet {
  if (opts.keysFile) return { trusted: readKeysFile(engine, opts.keysFile, "public"), revoked: [] };
  return loadSystemKeys(engine, opts.keysDir);
}

/** Minimal view of a remote's options (repo/remotes.ts Remote satisfies it). */
export interface RemoteOptionSource {
  readonly name: string;
  get(key: string): string | undefined;
}

/**
 * A remote's keys for `engine`: `verification-<name>-file` and/or `verification-<name>-key`,
 * plus the system revoked keys. Returns null when the remote configures none and they are not
 * `required`; with nothing configured for an optional engine, system keys are used if any.
 * @throws ArborError SIGNATURE_MISSING "No keys found for required signapi type ed25519",
 *   BAD_CONFIG "Failed loading 'ed25519' keys from 'PATH'".
 */
export function remoteSignKeys(
  engine: SignEngine,
  remote: RemoteOptionSource,
  required: boolean,
): PublicKeySet | null {
  const file = remote.get(`verification-${engine.name}-file`);
  const inline = remote.get(`verification-${engine.name}-key`);
  if (file === undefined && inline === undefined) {
    if (required)
      throw new ArborError("SIGNATURE_MISSING", `No keys found for required signapi type ${engine.name}`);
    try {
      return loadSystemKeys(engine);
    } catch {
      return null;
    }
  }
  const set: PublicKeySet = { trusted: [], revoked: [] };
  if (file !== undefined) {
    try {
      set.trusted.push(...readKeysFile(engine, file, "public"));
    } catch (e) {
      throw new ArborError("BAD_CONFIG", `Failed loading '${engine.name}' keys from '${file}'`, { cause: e });
    }
  }
  if (inline !== undefined) {
    try {
      set.trusted.push(engine.parsePublicKey(inline));
    } catch (e) {
      throw new ArborError(
        "BAD_CONFIG",
        `Failed loading '${engine.name}' keys from inline \`verification-key\``,
        { cause: e },
      );
    }
  }
  // Deliberately stricter than OSTree, which ignores the system revoked lists for keys configured
  // on the remote: a key revoked system-wide never verifies anything here.
  for (const b of SYSTEM_KEY_DIRS) loadDirKeys(engine, b, false, set.revoked);
  return set;
}
