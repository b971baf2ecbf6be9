/**
 * /etc drift: how a deployment's writable `/etc` differs from its image default `usr/etc` (which,
 * for a derived deployment, already contains the declared layers' `/etc` content). Each change
 * says what differs (content, mode, owner, xattrs, symlink target, type); `--quick` compares sizes
 * instead of data. Directories added or removed are reported once, not entry by entry.
 */
import { lstatSync, readdirSync, readlinkSync, type Stats } from "node:fs";
import { join } from "node:path";
import { errnoCode, fromSystemError } from "../errors.js";
import { dataChecksum, readXattrs, sameXattrs } from "./drift-files.js";
import type { ChangeKind, DriftItem } from "./drift-image.js";

function lstatMaybe(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    const c = errnoCode(e);
    if (c === "ENOENT" || c === "ENOTDIR") return null;
    throw fromSystemError(`Cannot stat "${p}"`, e);
  }
}

/** SELinux labels of /etc and usr/etc differ by design (as OSTree's /etc diff assumes): not drift. */
const etcXattrs = (p: string) => readXattrs(p).filter(([n]) => n !== "security.selinux");

const kindOf = (st: Stats): string =>
  st.isDirectory() ? "d" : st.isFile() ? "f" : st.isSymbolicLink() ? "l" : "o";

/** What differs between two entries of the same kind. */
export function entryChanges(a: string, sa: Stats, b: string, sb: Stats, quick: boolean): ChangeKind[] {
  if (kindOf(sa) !== kindOf(sb)) return ["type"];
  const out: ChangeKind[] = [];
  if (!sa.isSymbolicLink() && (sa.mode & 0o7777) !== (sb.mode & 0o7777)) out.push("mode");
  if (sa.uid !== sb.uid || sa.gid !== sb.gid) out.push("owner");
  if (!quick && !sameXattrs(etcXattrs(a), etcXattrs(b))) out.push("xattrs");
  if (sa.isSymbolicLink()) {
    if (readlinkSync(a) !== readlinkSync(b)) out.push("target");
  } else if (sa.isFile()) {
    if (sa.size !== sb.size) out.push("content");
    else if (!quick && !(sa.dev === sb.dev && sa.ino === sb.ino) && dataChecksum(a) !== dataChecksum(b))
      out.push("content");
  }
  return out;
}

/**
 * Compare `defaults` (usr/etc) with `etc`; paths are reported as `/etc/REL`.
 * @throws ArborError NOT_FOUND (a root is missing), IO
 */
export function compareEtc(defaults: string, etc: string, o: { quick?: boolean } = {}): DriftItem[] {
  const out: DriftItem[] = [];
  const walk = (rel: string): void => {
    const da = join(defaults, rel);
    const db = join(etc, rel);
    const namesA = readdirSync(da);
    const namesB = new Set(readdirSync(db));
    for (const n of namesA.sort()) {
      const r = rel ? `${rel}/${n}` : n;
      const sa = lstatSync(join(defaults, r));
      const sb = namesB.has(n) ? lstatMaybe(join(etc, r)) : null;
      if (!sb) {
        out.push({ path: `/etc/${r}`, change: "removed" });
        continue;
      }
      const kinds = entryChanges(join(defaults, r), sa, join(etc, r), sb, !!o.quick);
      if (kinds.length) out.push({ path: `/etc/${r}`, change: "modified", kinds });
      if (sa.isDirectory() && sb.isDirectory()) walk(r);
    }
    const inA = new Set(namesA);
    for (const n of [...namesB].sort()) {
      if (!inA.has(n)) out.push({ path: `/etc/${rel ? `${rel}/${n}` : n}`, change: "added" });
    }
  };
  try {
    walk("");
  } catch (e) {
    throw fromSystemError(`Cannot compare "${etc}" with "${defaults}"`, e);
  }
  return out;
}
