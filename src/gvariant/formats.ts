/**
 * The GVariant types of OSTree's objects, one line per field, and the byte-swap helpers.
 *
 * OSTree stores integer *values* big-endian inside little-endian GVariant framing: it byte-swaps
 * each field before serializing (fact sheet §1.6). The codec stays standard GVariant; the swap
 * happens here at the boundary, so a reader of this file sees exactly where each field is BE.
 */

/** Commit object (objtype 4). */
export const COMMIT = "(a{sv}aya(say)sstayay)";
// 0 a{sv}   metadata (version, ostree.ref-binding, ostree.bootable…), insertion order, unsorted
// 1 ay      parent commit checksum: empty or 32 raw bytes
// 2 a(say)  related objects (always empty in practice)
// 3 s       subject
// 4 s       body
// 5 t       timestamp, seconds since the epoch UTC, BIG-ENDIAN
// 6 ay      root dirtree checksum (32 bytes)
// 7 ay      root dirmeta checksum (32 bytes)

/** Dirtree object (objtype 2). */
export const DIRTREE = "(a(say)a(sayay))";
// 0 a(say)    files: (name, content checksum 32 B), sorted by name (strcmp)
// 1 a(sayay)  dirs: (name, dirtree checksum, dirmeta checksum), sorted by name (strcmp)

/** Dirmeta object (objtype 3); also the bare-user `user.ostreemeta` xattr value. */
export const DIRMETA = "(uuua(ayay))";
// 0 u       uid, BIG-ENDIAN
// 1 u       gid, BIG-ENDIAN
// 2 u       mode including S_IFDIR (or S_IFREG/S_IFLNK in user.ostreemeta), BIG-ENDIAN
// 3 a(ayay) xattrs: (name with its trailing NUL, raw value), sorted by name

/** Content object header, as hashed (and as stored inside bare objects' metadata). */
export const FILE_HEADER = "(uuuusa(ayay))";
// 0 u uid BE · 1 u gid BE · 2 u mode BE (S_IFREG|perm or S_IFLNK|0777) · 3 u rdev (always 0)
// 4 s symlink target ("" for regular files) · 5 a(ayay) xattrs, sorted

/** Archive (.filez) content header: the file header preceded by the uncompressed size. */
export const ARCHIVE_FILE_HEADER = "(tuuuusa(ayay))";
// 0 t uncompressed size BE · then as FILE_HEADER

/** Summary file. */
export const SUMMARY = "(a(s(taya{sv}))a{sv})";
// 0 a(s(taya{sv})) refs sorted by name: (ref, (commit size t LITTLE-ENDIAN (quirk), checksum, {…}))
// 1 a{sv}          metadata (ostree.summary.last-modified t BE, ostree.static-deltas…)

/** Detached commit metadata (objtype 6), summary.sig, tombstones, delta indexes. */
export const VARDICT = "a{sv}";

/** Swap the bytes of a 32-bit unsigned integer (GUINT32_TO_BE on a little-endian host). */
export function bswap32(n: number): number {
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | ((n >>> 24) & 0xff)) >>> 0;
}

/** Swap the bytes of a 64-bit unsigned integer. */
export function bswap64(n: bigint): bigint {
  let r = 0n;
  let v = BigInt.asUintN(64, n);
  for (let i = 0; i < 8; i++) {
    r = (r << 8n) | (v & 0xffn);
    v >>= 8n;
  }
  return r;
}
