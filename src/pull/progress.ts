/**
 * Pull statistics and the lines OSTree prints about them: the live progress line on a TTY
 * (`Receiving objects: 42% (420/1000) 1.2 MB/s 10.5 MB`) and the final summary
 * (`6 metadata, 1 content objects fetched; 292 B transferred in 0 seconds; 3 bytes content written`).
 */
import { formatSize } from "../core/format-size.js";

/** Counters a pull keeps; passed to `onProgress` (a snapshot) and returned at the end. */
export interface PullStats {
  /** Metadata objects fetched from the network (commits, dirtrees, dirmeta, commitmeta). */
  fetchedMetadata: number;
  fetchedContent: number;
  /** Objects copied from a `--localcache-repo`. */
  importedMetadata: number;
  importedContent: number;
  /** Objects known to be needed so far (grows while the tree is scanned). */
  requested: number;
  /** Fetches in flight. */
  outstanding: number;
  /** Still discovering objects (metadata fetches outstanding). */
  scanning: boolean;
  bytesTransferred: number;
  /** Uncompressed bytes of content written to the repo. */
  contentBytesWritten: number;
  startMs: number;
  elapsedMs: number;
}

export function newStats(now = Date.now()): PullStats {
  return {
    fetchedMetadata: 0,
    fetchedContent: 0,
    importedMetadata: 0,
    importedContent: 0,
    requested: 0,
    outstanding: 0,
    scanning: true,
    bytesTransferred: 0,
    contentBytesWritten: 0,
    startMs: now,
    elapsedMs: 0,
  };
}

/** The final line `ostree pull` prints. */
export function formatPullSummary(s: PullStats, opts: { local?: boolean } = {}): string {
  let line = opts.local
    ? `${s.importedMetadata} metadata, ${s.importedContent} content objects imported`
    : `${s.fetchedMetadata} metadata, ${s.fetchedContent} content objects fetched`;
  if (!opts.local && (s.importedMetadata || s.importedContent))
    line += ` (${s.importedMetadata} meta, ${s.importedContent} content local)`;
  if (s.bytesTransferred > 0) {
    const kib = s.bytesTransferred >= 1024;
    line += `; ${kib ? Math.floor(s.bytesTransferred / 1024) : s.bytesTransferred} ${kib ? "KiB" : "B"} transferred in ${Math.floor(s.elapsedMs / 1000)} seconds`;
  }
  line += `; ${formatSize(s.contentBytesWritten)} content written`;
  return line;
}

/** The live progress line (without terminal control codes). */
export function formatPullProgress(s: PullStats): string {
  const secs = Math.max(s.elapsedMs / 1000, 0.001);
  const rate = `${formatSize(Math.round(s.bytesTransferred / secs))}/s`;
  const fetched = s.fetchedMetadata + s.fetchedContent + s.importedMetadata + s.importedContent;
  if (s.scanning)
    return `Receiving metadata objects: ${fetched}/(estimating) ${rate} ${formatSize(s.bytesTransferred)}`;
  const pct = s.requested ? Math.floor((fetched / s.requested) * 100) : 100;
  let line = `Receiving objects: ${pct}% (${fetched}/${s.requested}) ${rate} ${formatSize(s.bytesTransferred)}`;
  if (fetched > 0 && fetched < s.requested && s.elapsedMs > 2000) {
    const left = Math.round(((s.requested - fetched) * s.elapsedMs) / fetched / 1000);
    line += ` ${left >= 60 ? `${Math.floor(left / 60)} minutes ` : ""}${left % 60} seconds remaining`;
  }
  return line;
}
