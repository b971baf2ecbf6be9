/**
 * Remotes (fact sheet §3.2): `[remote "NAME"]` groups in the repo `config`, plus — for system
 * repositories only — one `NAME.conf` key file per remote in `/etc/ostree/remotes.d/`.
 * Written exactly as `ostree remote add` writes them: `url` first, then the options in the order
 * given (strings as is, booleans `true`/`false`, lists `a;b;`), so either tool reads what the
 * other wrote. Each remote's GPG keyring is `NAME.trustedkeys.gpg` in the repo directory (or in
 * remotes.d for system repos).
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { validateRemoteName } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { KeyFile } from "./config.js";
import { Repo } from "./repo.js";

/** A remote option value as `remote add` takes it: string, boolean or string list. */
export type RemoteOptionValue = string | boolean | string[];

/** One configured remote. Read options through its accessors (values as GLib reads them). */
export class Remote {
  /** The key-file group: `remote "NAME"`. */
  readonly group: string;

  constructor(
    readonly name: string,
    private readonly kf: KeyFile,
    /** The `remotes.d/*.conf` file it came from, or null when it lives in the repo config. */
    readonly file: string | null,
  ) {
    this.group = remoteGroup(name);
  }

  /** A raw option value, or undefined. */
  get(key: string): string | undefined {
    return this.kf.get(this.group, key);
  }

  /** @throws ArborError BAD_CONFIG for a value that is not a boolean. */
  getBool(key: string, dflt: boolean): boolean {
    return this.kf.getBool(this.group, key, dflt);
  }

  /** A `;`-separated list option. */
  getList(key: string): string[] | undefined {
    return this.kf.getList(this.group, key);
  }

  /** Every option key, in file order. */
  keys(): string[] {
    return this.kf.keys(this.group);
  }

  /**
   * The URL as `remote show-url` prints it (`metalink=URL` for metalink remotes).
   * @throws ArborError BAD_CONFIG if the remote has neither `url` nor `metalink`.
   */
  get url(): string {
    const metalink = this.get("metalink");
    if (metalink !== undefined) return `metalink=${metalink}`;
    const url = this.get("url");
    if (url === undefined) throw new ArborError("BAD_CONFIG", `No "url" option in remote "${this.name}"`);
    return url;
  }

  /** `gpg-verify` (default true). */
  get gpgVerify(): boolean {
    return this.getBool("gpg-verify", true);
  }

  /** `gpg-verify-summary` (default false). */
  get gpgVerifySummary(): boolean {
    return this.getBool("gpg-verify-summary", false);
  }

  /** The keyring file name OSTree uses for this remote: `NAME.trustedkeys.gpg`. */
  get keyringName(): string {
    return `${this.name}.trustedkeys.gpg`;
  }
}

/** The key-file group of a remote. */
export function remoteGroup(name: string): string {
  return `remote "${name}"`;
}

const GROUP_RE = /^remote "(.+)"$/;

/** Options that decide where remotes live; tests and sysroot code pass these. */
export interface RemotesOptions {
  /** Include the remotes of the `core.parent` repository chain (default true; add/delete use false). */
  inherit?: boolean;
  /**
   * The `remotes.d` directory to read (and, with `core.add-remotes-config-dir`, write). Default:
   * `/etc/ostree/remotes.d` when the repository is the system repo `/ostree/repo`, else none.
   */
  remotesDir?: string | null;
}

/** The remotes.d directory that applies to `repo`, or null (not a system repo). */
export function remotesConfigDir(repo: Repo, opts: RemotesOptions = {}): string | null {
  if (opts.remotesDir !== undefined) return opts.remotesDir;
  try {
    if (realpathSync(repo.path) === realpathSync("/ostree/repo")) return "/etc/ostree/remotes.d";
  } catch {
    // no /ostree/repo: not a system repo
  }
  return null;
}

function remotesFromKeyFile(kf: KeyFile, file: string | null, into: Map<string, Remote>): void {
  for (const g of kf.groupNames()) {
    const m = GROUP_RE.exec(g);
    if (!m) continue;
    const name = m[1]!;
    if (into.has(name)) {
      throw new ArborError("BAD_CONFIG", `Multiple specifications found for remote "${name}"`);
    }
    into.set(name, new Remote(name, kf, file));
  }
}

/**
 * Every remote of the repository: the repo config first, then remotes.d (`*.conf`, regular files).
 * @throws ArborError BAD_CONFIG for a remote defined twice or an unparsable remotes.d file.
 */
export function loadRemotes(repo: Repo, opts: RemotesOptions = {}): Map<string, Remote> {
  const out = new Map<string, Remote>();
  remotesFromKeyFile(repo.config, null, out);
  const dir = remotesConfigDir(repo, opts);
  if (dir) {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".conf"));
    } catch (e) {
      if (errnoCode(e) !== "ENOENT" && errnoCode(e) !== "ENOTDIR")
        throw fromSystemError(`Cannot read "${dir}"`, e);
    }
    for (const n of names.sort()) {
      const p = join(dir, n);
      try {
        if (!statSync(p).isFile()) continue;
      } catch {
        continue;
      }
      let kf: KeyFile;
      try {
        kf = KeyFile.parse(readFileSync(p, "utf8"), `"${p}"`);
      } catch (e) {
        throw e instanceof ArborError ? e : fromSystemError(`Failed to parse ${p}`, e);
      }
      remotesFromKeyFile(kf, p, out);
    }
  }
  if (opts.inherit !== false) {
    // remotes of the parent repository (`core.parent`) are visible here too, as in ostree
    const parent = repo.config.get("core", "parent");
    if (parent && !seenParents.has(parent)) {
      seenParents.add(parent);
      try {
        for (const [name, r] of loadRemotes(Repo.open(parent), { ...opts, remotesDir: null }))
          if (!out.has(name)) out.set(name, r);
      } catch (e) {
        if (!(e instanceof ArborError)) throw e;
      } finally {
        seenParents.delete(parent);
      }
    }
  }
  return out;
}

// guards a `core.parent` cycle
const seenParents = new Set<string>();

/** Remote names, sorted (as `remote list` prints them). */
export function listRemotes(repo: Repo, opts: RemotesOptions = {}): string[] {
  return [...loadRemotes(repo, opts).keys()].sort();
}

/** The remote named `name`, or null. @throws ArborError BAD_NAME */
export function findRemote(repo: Repo, name: string, opts: RemotesOptions = {}): Remote | null {
  validateRemoteName(name);
  return loadRemotes(repo, opts).get(name) ?? null;
}

/** The remote named `name`. @throws ArborError NOT_FOUND `Remote "x" not found`, BAD_NAME */
export function getRemote(repo: Repo, name: string, opts: RemotesOptions = {}): Remote {
  const r = findRemote(repo, name, opts);
  if (!r) throw new ArborError("NOT_FOUND", `Remote "${name}" not found`, { data: { remote: name } });
  return r;
}

/** How {@link addRemote} treats an existing remote of the same name. */
export type RemoteAddMode = "add" | "if-not-exists" | "replace";

export interface AddRemoteOptions extends RemotesOptions {
  name: string;
  /** `url`, or `metalink=URL` (written as the `metalink` key), or null for none. */
  url: string | null;
  /** Options written after the URL in this order (`branches`, `contenturl`, `--set`…). */
  options?: Array<[string, RemoteOptionValue]>;
  /** Default "add": an existing remote is an error. */
  mode?: RemoteAddMode;
}

function setOption(kf: KeyFile, group: string, key: string, v: RemoteOptionValue): void {
  if (typeof v === "boolean") kf.setBool(group, key, v);
  else if (Array.isArray(v)) kf.setList(group, key, v);
  else kf.set(group, key, v);
}

function fillGroup(kf: KeyFile, group: string, o: AddRemoteOptions): void {
  if (o.url !== null) {
    if (o.url.startsWith("metalink=")) kf.set(group, "metalink", o.url.slice("metalink=".length));
    else kf.set(group, "url", o.url);
  }
  for (const [k, v] of o.options ?? []) setOption(kf, group, k, v);
}

/**
 * Add (or replace) a remote, as `ostree remote add`. New remotes of a system repo go to
 * `remotes.d/NAME.conf` when `core.add-remotes-config-dir` is true (its default there).
 * @returns false when mode is "if-not-exists" and the remote already existed (nothing written).
 * @throws ArborError EXISTS `Remote configuration for "x" already exists: (in config)`, BAD_NAME, IO
 */
export function addRemote(repo: Repo, o: AddRemoteOptions): boolean {
  validateRemoteName(o.name);
  const mode = o.mode ?? "add";
  const existing = findRemote(repo, o.name, { ...o, inherit: false });
  const group = remoteGroup(o.name);
  if (existing && mode === "if-not-exists") return false;
  if (existing && mode === "add") {
    throw new ArborError(
      "EXISTS",
      `Remote configuration for "${o.name}" already exists: ${existing.file ?? "(in config)"}`,
    );
  }
  if (existing?.file) {
    // replace inside its own remotes.d file
    const kf = KeyFile.parse(readFileSync(existing.file, "utf8"), `"${existing.file}"`);
    kf.removeGroup(group);
    fillGroup(kf, group, o);
    writeFileAtomicSync(existing.file, kf.toString(), { mode: 0o644 });
    return true;
  }
  if (!existing) {
    const dir = remotesConfigDir(repo, o);
    if (dir && repo.config.getBool("core", "add-remotes-config-dir", true)) {
      const kf = new KeyFile();
      fillGroup(kf, group, o);
      try {
        mkdirSync(dir, { recursive: true });
        writeFileAtomicSync(join(dir, `${o.name}.conf`), kf.toString(), { mode: 0o644 });
      } catch (e) {
        throw fromSystemError(`Cannot write remote "${o.name}" to "${dir}"`, e);
      }
      return true;
    }
  }
  repo.reloadConfig();
  repo.config.removeGroup(group);
  fillGroup(repo.config, group, o);
  repo.saveConfig();
  return true;
}

/**
 * Delete a remote and its keyring file, as `ostree remote delete`.
 * @returns false when `ifExists` and there was no such remote.
 * @throws ArborError NOT_FOUND, BAD_NAME, IO
 */
export function deleteRemote(
  repo: Repo,
  name: string,
  opts: RemotesOptions & { ifExists?: boolean } = {},
): boolean {
  const r = findRemote(repo, name, { ...opts, inherit: false });
  if (!r) {
    if (opts.ifExists) return false;
    throw new ArborError("NOT_FOUND", `Remote "${name}" not found`, { data: { remote: name } });
  }
  try {
    if (r.file) rmSync(r.file, { force: true });
    else {
      repo.reloadConfig();
      if (repo.config.removeGroup(r.group)) repo.saveConfig();
    }
    rmSync(join(repo.path, r.keyringName), { force: true });
  } catch (e) {
    throw fromSystemError(`Cannot delete remote "${name}"`, e);
  }
  return true;
}

/**
 * Parse `--sign-verify=TYPE=inline:KEY|file:PATH` into the option it adds and the type name.
 * @throws ArborError USAGE for a malformed spec, UNSUPPORTED for an unknown signature type.
 */
export function parseSignVerifySpec(spec: string): { type: string; option: [string, string] } {
  const eq = spec.indexOf("=");
  if (eq < 0) throw new ArborError("USAGE", `Failed to parse KEYTYPE=[inline|file]:DATA in ${spec}`);
  const type = spec.slice(0, eq);
  const ref = spec.slice(eq + 1);
  if (type !== "ed25519" && type !== "dummy")
    throw new ArborError("UNSUPPORTED", "Requested signature type is not implemented");
  const colon = ref.indexOf(":");
  const kind = colon < 0 ? "" : ref.slice(0, colon);
  if (kind !== "inline" && kind !== "file") {
    throw new ArborError("USAGE", `Invalid key reference ${ref}, expected inline|file`);
  }
  const value = ref.slice(colon + 1);
  return { type, option: [`verification-${type}-${kind === "inline" ? "key" : "file"}`, value] };
}

/** Where a remote's GPG keyring lives (the file may not exist). */
export function remoteKeyringPath(repo: Repo, remote: Remote, opts: RemotesOptions = {}): string {
  const inRepo = join(repo.path, remote.keyringName);
  try {
    statSync(inRepo);
    return inRepo;
  } catch {
    const dir = remotesConfigDir(repo, opts);
    if (dir) {
      const p = join(dir, remote.keyringName);
      try {
        statSync(p);
        return p;
      } catch {}
    }
  }
  return inRepo;
}
