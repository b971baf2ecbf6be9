/**
 * Byte counts as ostree prints them: GLib's `g_format_size` (decimal units, one decimal, a
 * no-break space U+00A0 before the unit). Used by every output that mirrors an ostree line
 * (`diff --stats`, `summary --view`, pull progress, `prune`, `admin cleanup`).
 */

/**
 * `26 bytes`, `1 byte`, `1.5\u00a0kB`, `2.1\u00a0MB`.
 * @example formatSize(1500) // "1.5\u00a0kB"
 */
export function formatSize(n: number): string {
  if (n < 1000) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["kB", "MB", "GB", "TB", "PB", "EB"];
  let i = 0;
  while (i + 1 < units.length && n >= 1000 ** (i + 2)) i++;
  return `${(n / 1000 ** (i + 1)).toFixed(1)}\u00a0${units[i]}`;
}
