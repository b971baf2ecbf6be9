/**
 * What `/var` content a deployment declares: the paths of its `tmpfiles.d` entries
 * (`usr/lib/tmpfiles.d/*.conf`, overridden by same-named `etc/tmpfiles.d/*.conf`) and the admin's
 * allowlist `/etc/arbor/var-allowlist` (one absolute path or glob per line, `#` comments). A path
 * is declared when it, or a directory above it, matches: state a service keeps under its declared
 * directory is the service's business, not drift. OSTree's stateroot skeleton (`/var/lib`,
 * `/var/log`, `/var/tmp`, `/var/run`, `/var/lock`) is itself declared but looked into.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The allowlist file, relative to the deployment root. */
export const VAR_ALLOWLIST = "etc/arbor/var-allowlist";

/** Always declared: OSTree's own stamps in /var. */
const BUILTIN = ["/var/.updated", "/var/.ostree-selabeled"];

/**
 * The stateroot skeleton `admin os-init` creates: these entries themselves are declared, but what
 * is inside them is still looked at (a folder an admin drops into /var/lib is reported).
 */
const SKELETON = new Set(["/var/lib", "/var/log", "/var/tmp", "/var/run", "/var/lock"]);

function readMaybe(p: string): string | null {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return null;
  }
}

function listMaybe(p: string): string[] {
  try {
    return readdirSync(p);
  } catch {
    return [];
  }
}

/** Unescape the C-style escapes tmpfiles.d allows in paths (`\x20`, `\\`). */
function unescapePath(p: string): string {
  return p.replace(/\\x([0-9a-fA-F]{2})|\\(.)/g, (_m, hex: string | undefined, ch: string | undefined) =>
    hex !== undefined ? String.fromCharCode(Number.parseInt(hex, 16)) : (ch ?? ""),
  );
}

/** Paths (absolute, may hold globs) declared by tmpfiles.d lines in `text`. */
export function tmpfilesPaths(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(\S+)\s+("(?:[^"\\]|\\.)*"|\S+)/.exec(line);
    if (!m) continue;
    let p = m[2]!;
    if (p.startsWith('"') && p.endsWith('"') && p.length > 1) p = p.slice(1, -1);
    p = unescapePath(p);
    if (p.startsWith("/")) out.push(p.replace(/\/+$/, "") || "/");
  }
  return out;
}

/** Turn a glob (`*`, `?`, `[…]`) into an anchored RegExp. */
function globRe(g: string): RegExp {
  let re = "";
  for (let i = 0; i < g.length; i++) {
    const c = g[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const j = g.indexOf("]", i + 1);
      if (j < 0) re += "\\[";
      else {
        re += `[${g
          .slice(i + 1, j)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = j;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** The declared /var paths of a deployment, as a matcher. */
export class VarDeclarations {
  private readonly exact = new Set<string>();
  private readonly globs: RegExp[] = [];
  /** Every declared path and each of its parents, to know where to look deeper. */
  private readonly prefixes = new Set<string>();

  constructor(paths: Iterable<string>) {
    for (const p of paths) {
      if (p !== "/var" && !p.startsWith("/var/")) continue;
      if (/[*?[]/.test(p)) this.globs.push(globRe(p));
      else this.exact.add(p);
      const parts = p.split("/");
      for (let i = 2; i < parts.length; i++) this.prefixes.add(parts.slice(0, i).join("/"));
    }
  }

  /** True if `path` itself is declared. */
  declares(path: string): boolean {
    return this.exact.has(path) || this.globs.some((g) => g.test(path));
  }

  /** True if something below `path` is declared (so an undeclared directory is looked into). */
  hasBelow(path: string): boolean {
    return this.prefixes.has(path);
  }

  /**
   * Read a deployment's declarations (its tmpfiles.d and the allowlist).
   * @param root the deployment root (its `usr/lib/tmpfiles.d` and `etc/`).
   */
  static load(root: string): VarDeclarations {
    const files = new Map<string, string>();
    for (const dir of ["usr/lib/tmpfiles.d", "etc/tmpfiles.d"]) {
      for (const n of listMaybe(join(root, dir))) if (n.endsWith(".conf")) files.set(n, join(root, dir, n));
    }
    const paths: string[] = [...BUILTIN];
    for (const f of files.values()) paths.push(...tmpfilesPaths(readMaybe(f) ?? ""));
    for (const raw of (readMaybe(join(root, VAR_ALLOWLIST)) ?? "").split("\n")) {
      const l = raw.trim();
      if (l && !l.startsWith("#") && l.startsWith("/")) paths.push(l.replace(/\/+$/, ""));
    }
    return new VarDeclarations(paths);
  }
}

/**
 * Entries under `varDir` (the deployment's /var) that nothing declares; a directory is reported
 * once (not its content) unless something below it is declared.
 */
export function undeclaredVar(varDir: string, decl: VarDeclarations): string[] {
  const out: string[] = [];
  const walk = (abs: string, path: string): void => {
    let names: import("node:fs").Dirent[];
    try {
      names = readdirSync(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = `${path}/${d.name}`;
      if (decl.declares(p)) continue;
      if (SKELETON.has(p) && !d.isDirectory()) continue;
      if (d.isDirectory() && (decl.hasBelow(p) || SKELETON.has(p))) walk(join(abs, d.name), p);
      else out.push(p);
    }
  };
  if (!decl.declares("/var")) walk(varDir, "/var");
  return out;
}
