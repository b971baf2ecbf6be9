/**
 * Per-remote cookie jars, as ostree keeps them: `REPO/REMOTE.cookies.txt` in the Netscape
 * cookies.txt format libcurl reads (one cookie a line, seven tab-separated fields: domain,
 * include-subdomains TRUE/FALSE, path, secure TRUE/FALSE, expiry in seconds since the epoch
 * (0 = session), name, value; `#` lines are comments, `#HttpOnly_` prefixes a domain).
 * `remote add-cookie` appends, `delete-cookie` rewrites without the cookie, `list-cookies` prints;
 * pull sends the cookies that match each request's URL, as curl does with the jar.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateRemoteName } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";

/** One cookie of a jar. */
export interface Cookie {
  domain: string;
  includeSubdomains: boolean;
  path: string;
  secure: boolean;
  /** Seconds since the epoch; 0 for a session cookie. */
  expires: number;
  name: string;
  value: string;
}

/** The jar file of a remote: `REPO/REMOTE.cookies.txt`. @throws ArborError BAD_NAME */
export function cookieJarPath(repoPath: string, remote: string): string {
  validateRemoteName(remote);
  return join(repoPath, `${remote}.cookies.txt`);
}

function parseLine(line: string): Cookie | null {
  let l = line.replace(/\r$/, "");
  if (l.startsWith("#HttpOnly_")) l = l.slice("#HttpOnly_".length);
  else if (l.startsWith("#") || !l.trim()) return null;
  const f = l.split("\t");
  if (f.length < 7 || !/^\d+$/.test(f[4]!)) return null;
  return {
    domain: f[0]!,
    includeSubdomains: f[1] === "TRUE",
    path: f[2]!,
    secure: f[3] === "TRUE",
    expires: Number(f[4]),
    name: f[5]!,
    value: f.slice(6).join("\t"),
  };
}

function readJar(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return "";
    throw fromSystemError(`Cannot read cookie jar "${path}"`, e);
  }
}

/** The cookies of a jar file (none if it does not exist); malformed lines are skipped. @throws ArborError IO */
export function readCookies(path: string): Cookie[] {
  return readJar(path)
    .split("\n")
    .map(parseLine)
    .filter((c): c is Cookie => c !== null);
}

function formatCookie(c: Cookie): string {
  return `${c.domain}\t${c.includeSubdomains ? "TRUE" : "FALSE"}\t${c.path}\t${c.secure ? "TRUE" : "FALSE"}\t${c.expires}\t${c.name}\t${c.value}\n`;
}

function checkField(what: string, v: string): void {
  if (!v || /[\t\n\r]/.test(v)) throw new ArborError("USAGE", `Invalid cookie ${what} "${v}"`);
}

/**
 * Add a cookie (as `remote add-cookie NAME DOMAIN PATH COOKIE_NAME VALUE`): not secure, expiring
 * in 25 years, matching subdomains when DOMAIN starts with a dot.
 * @throws ArborError USAGE (a field empty or holding a tab or newline), IO
 */
export function addCookie(
  path: string,
  c: { domain: string; path: string; name: string; value: string },
  now = Date.now(),
): void {
  checkField("domain", c.domain);
  checkField("path", c.path);
  checkField("name", c.name);
  if (/[\t\n\r]/.test(c.value)) throw new ArborError("USAGE", `Invalid cookie value "${c.value}"`);
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() + 25);
  const line = formatCookie({
    domain: c.domain,
    includeSubdomains: c.domain.startsWith("."),
    path: c.path,
    secure: false,
    expires: Math.floor(d.getTime() / 1000),
    name: c.name,
    value: c.value,
  });
  const old = readJar(path);
  writeFileAtomicSync(path, `${old}${old && !old.endsWith("\n") ? "\n" : ""}${line}`, { mode: 0o644 });
}

/**
 * Remove the cookies with this domain, path and name (as `remote delete-cookie`).
 * @returns false when none matched ("Cookie not found in jar").
 * @throws ArborError IO
 */
export function deleteCookie(path: string, c: { domain: string; path: string; name: string }): boolean {
  const lines = readJar(path).split("\n");
  let found = false;
  const keep = lines.filter((l) => {
    const p = parseLine(l);
    const hit = p !== null && p.domain === c.domain && p.path === c.path && p.name === c.name;
    if (hit) found = true;
    return !hit;
  });
  if (found) writeFileAtomicSync(path, keep.join("\n"), { mode: 0o644 });
  return found;
}

/** `list-cookies` output for one jar, as ostree prints it. */
export function formatCookieList(cookies: Cookie[]): string {
  let out = "";
  for (const c of cookies) {
    const exp =
      c.expires > 0 ? new Date(c.expires * 1000).toISOString().replace("T", " ").slice(0, 19) : null;
    out += `--\nDomain: ${c.domain}\nPath: ${c.path}\nName: ${c.name}\nSecure: ${c.secure ? "TRUE" : "FALSE"}\n`;
    if (exp) out += `Expires: ${exp} +0000\n`;
    out += `Value: ${c.value}\n`;
  }
  return out;
}

/**
 * The `Cookie` header value for a request to `url` (null if no cookie matches): domain (exact
 * host, or a suffix for subdomain cookies), path prefix, `secure` only over https, not expired.
 */
export function cookieHeader(cookies: Cookie[], url: string, now = Date.now()): string | null {
  if (cookies.length === 0) return null;
  const u = new URL(url);
  const host = u.hostname.toLowerCase();
  const hits = cookies.filter((c) => {
    const dom = c.domain.toLowerCase().replace(/^\./, "");
    const domainOk =
      host === dom || ((c.includeSubdomains || c.domain.startsWith(".")) && host.endsWith(`.${dom}`));
    const pathOk =
      u.pathname === c.path ||
      (u.pathname.startsWith(c.path) && (c.path.endsWith("/") || u.pathname[c.path.length] === "/"));
    const secureOk = !c.secure || u.protocol === "https:";
    const live = c.expires === 0 || c.expires * 1000 > now;
    return domainOk && pathOk && secureOk && live;
  });
  return hits.length ? hits.map((c) => `${c.name}=${c.value}`).join("; ") : null;
}
