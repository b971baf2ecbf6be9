/**
 * File modes as OSTree stores them: full `st_mode` values including the file type bits.
 * Only regular files, symlinks and directories exist in an OSTree tree.
 */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;
/** Permission bits plus setuid/setgid/sticky. */
export const PERMS_MASK = 0o7777;

export const isDir = (mode: number): boolean => (mode & S_IFMT) === S_IFDIR;
export const isReg = (mode: number): boolean => (mode & S_IFMT) === S_IFREG;
export const isLnk = (mode: number): boolean => (mode & S_IFMT) === S_IFLNK;

/** Format a mode as ostree `ls` does: type char + 5 octal digits, e.g. `-00644`, `d00755`, `l00777`. */
export function formatMode(mode: number): string {
  const t = isDir(mode) ? "d" : isLnk(mode) ? "l" : isReg(mode) ? "-" : "?";
  return t + (mode & PERMS_MASK).toString(8).padStart(5, "0");
}

/** True if `mode` is a valid content-object mode (regular file or symlink, no other type bits). */
export function isValidContentMode(mode: number): boolean {
  return (isReg(mode) || isLnk(mode)) && (mode & ~(S_IFMT | PERMS_MASK)) === 0;
}

/** True if `mode` is a valid dirmeta mode: S_IFDIR plus permission/suid/sgid/sticky bits only. */
export function isValidDirMode(mode: number): boolean {
  return isDir(mode) && (mode & ~(S_IFMT | PERMS_MASK)) === 0;
}

/** The canonical mode used by `--canonical-permissions` and bare-user-only repos: keeps only 0755 bits. */
export function canonicalMode(mode: number): number {
  return (mode & S_IFMT) | (isLnk(mode) ? 0o777 : mode & 0o755);
}
