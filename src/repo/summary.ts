/**
 * The `summary` file (fact sheet §4.1): `(a(s(taya{sv}))a{sv})` listing the repository's refs
 * with each commit's size (little-endian: OSTree's quirk), checksum, timestamp and version, plus
 * repository metadata. `summary.sig` is an `a{sv}` of detached signatures over the exact bytes of
 * `summary`. Both are built in a private tmp dir and renamed into place, summary first, so a
 * published summary never pairs with a stale signature.
 *
 * Dictionaries OSTree builds with GVariantDict (per-ref metadata, top-level metadata, deltas,
 * signature dicts) come out in GHashTable order; {@link ghashOrderPairs} reproduces it so arbor's
 * summary is byte-identical to ostree's for the same repository and time.
 */
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { checksumFromBytes, checksumToBytes, compareNames, sha256Hex } from "../core/checksum.js";
import { decodeVarDict, encodeVarDict, lookup, type VarDict } from "../core/metadata.js";
import { isRef } from "../core/validate.js";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { bswap64, SUMMARY } from "../gvariant/formats.js";
import { ghashOrderPairs } from "../gvariant/ghash-order.js";
import { deserialize, type GVValue, serialize, Variant } from "../gvariant/index.js";
import { writeFileAtomicSync } from "../io/atomic-write.js";
import { acquireLock, type LockHandle } from "../io/lock.js";
import { reindexDeltas } from "./delta-store.js";
import { listRefs } from "./refs.js";
import type { Repo } from "./repo.js";

/** One ref in a summary. */
export interface SummaryRef {
  ref: string;
  /** Size in bytes of the commit object (stored little-endian). */
  commitSize: number;
  checksum: string;
  /** `ostree.commit.timestamp` (t BE) and `ostree.commit.version` (s) when known. */
  metadata: VarDict;
}

/** A decoded summary. */
export interface Summary {
  refs: SummaryRef[];
  metadata: VarDict;
}

/** Well-known summary metadata keys. */
export const SUMMARY_KEYS = {
  lastModified: "ostree.summary.last-modified",
  expires: "ostree.summary.expires",
  mode: "ostree.summary.mode",
  tombstoneCommits: "ostree.summary.tombstone-commits",
  indexedDeltas: "ostree.summary.indexed-deltas",
  staticDeltas: "ostree.static-deltas",
  collectionId: "ostree.summary.collection-id",
  collectionMap: "ostree.summary.collection-map",
  commitTimestamp: "ostree.commit.timestamp",
  commitVersion: "ostree.commit.version",
} as const;

const _REFS_TYPE = "a(s(taya{sv}))";

function refsToGV(refs: SummaryRef[]): GVValue[] {
  return refs.map((r) => [r.ref, [BigInt(r.commitSize), checksumToBytes(r.checksum), r.metadata]]);
}

/** Serialize a summary (refs are written in the order given; sort them first). */
export function encodeSummary(s: Summary): Uint8Array {
  return serialize(SUMMARY, [refsToGV(s.refs), s.metadata]);
}

function refsFromGV(v: GVValue, what: string): SummaryRef[] {
  const out: SummaryRef[] = [];
  for (const entry of v as Array<[string, [bigint, Uint8Array, VarDict]]>) {
    const [ref, [size, cs, meta]] = entry;
    if (!isRef(ref))
      throw new ArborError("OBJECT_CORRUPT", `Invalid ${what}: bad ref name ${JSON.stringify(ref)}`);
    if (cs.length !== 32)
      throw new ArborError(
        "OBJECT_CORRUPT",
        `Invalid ${what}: checksum of ref "${ref}" is ${cs.length} bytes`,
      );
    out.push({
      ref,
      commitSize: size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(size),
      checksum: checksumFromBytes(cs),
      metadata: meta,
    });
  }
  return out;
}

/**
 * Decode and validate a summary (ref names and checksums checked; it may come from the network).
 * @throws ArborError OBJECT_CORRUPT
 */
export function decodeSummary(b: Uint8Array, what = "summary"): Summary {
  let v: GVValue[];
  try {
    v = deserialize(SUMMARY, b) as GVValue[];
  } catch (e) {
    throw new ArborError("OBJECT_CORRUPT", `Invalid ${what}: ${(e as Error).message}`, { cause: e });
  }
  return { refs: refsFromGV(v[0]!, what), metadata: v[1] as VarDict };
}

/** The refs of another collection listed under `ostree.summary.collection-map`. */
export function summaryCollectionMap(s: Summary): Map<string, SummaryRef[]> {
  const out = new Map<string, SummaryRef[]>();
  const v = lookup(s.metadata, SUMMARY_KEYS.collectionMap);
  if (v?.type !== "a{sa(s(taya{sv}))}") return out;
  for (const [cid, refs] of v.value as Array<[string, GVValue]>) out.set(cid, refsFromGV(refs, "summary"));
  return out;
}

/** A ref's timestamp from its summary entry (seconds), if present. */
export function summaryRefTimestamp(r: SummaryRef): number | undefined {
  const v = lookup(r.metadata, SUMMARY_KEYS.commitTimestamp);
  if (v?.type !== "t") return undefined;
  return Number(bswap64(v.value as bigint));
}

/** A ref's version from its summary entry, if present. */
export function summaryRefVersion(r: SummaryRef): string | undefined {
  const v = lookup(r.metadata, SUMMARY_KEYS.commitVersion);
  return v && v.type === "s" ? (v.value as string) : undefined;
}

// GDateTime accepts years 1..9999: ostree omits the timestamp when it cannot make a date of it.
const MAX_GDATETIME = 253402300799;

function refEntry(repo: Repo, ref: string, checksum: string): SummaryRef {
  const bytes = repo.readMetadata("commit", checksum);
  const commit = repo.loadCommit(checksum);
  const meta: VarDict = [];
  if (commit.timestamp <= MAX_GDATETIME)
    meta.push([SUMMARY_KEYS.commitTimestamp, new Variant("t", bswap64(BigInt(commit.timestamp)))]);
  const version = lookup(commit.metadata, "version");
  if (version && version.type === "s") meta.push([SUMMARY_KEYS.commitVersion, version]);
  return { ref, commitSize: bytes.length, checksum, metadata: ghashOrderPairs(meta) };
}

// Modified base64 (fact sheet §6.1): standard alphabet with "/" as "_", no padding.
function mb64ToHex(s: string): string | null {
  if (!/^[A-Za-z0-9+_]{43}$/.test(s)) return null;
  const hex = Buffer.from(`${s.replace(/_/g, "/")}=`, "base64").toString("hex");
  return hex.length === 64 ? hex : null;
}

/** Static deltas on disk as `[name, superblock sha256]`, name = `TO` or `FROM-TO` (hex). */
export function listStaticDeltaDigests(repo: Repo): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const base = join(repo.path, "deltas");
  let prefixes: string[];
  try {
    prefixes = readdirSync(base);
  } catch {
    return out;
  }
  for (const p of prefixes.sort()) {
    if (p.length !== 2) continue;
    let rests: string[];
    try {
      rests = readdirSync(join(base, p));
    } catch {
      continue;
    }
    for (const rest of rests.sort()) {
      const dash = rest.indexOf("-");
      const from = dash < 0 ? null : mb64ToHex(p + rest.slice(0, dash));
      const to = mb64ToHex(dash < 0 ? p + rest : rest.slice(dash + 1));
      if (!to || (dash >= 0 && !from)) continue;
      let sb: Buffer;
      try {
        sb = readFileSync(join(base, p, rest, "superblock"));
      } catch {
        continue;
      }
      out.push([from ? `${from}-${to}` : to, sha256Hex(sb)]);
    }
  }
  return out;
}

/** Something that signs summary bytes; sign/ provides GPG and ed25519 implementations. */
export interface SummarySigner {
  /** The summary.sig key the signature goes under (`ostree.gpgsigs`, `ostree.sign.ed25519`). */
  readonly metadataKey: string;
  /** Detached signatures over `data` (one per key). */
  sign(data: Uint8Array): Promise<Uint8Array[]>;
}

/** Append signatures to an `a{sv}` of `aay` signature lists, as ostree does (GVariantDict order). */
export function appendSignatures(dict: VarDict | null, key: string, sigs: Uint8Array[]): VarDict {
  const d = dict ?? [];
  const old = lookup(d, key);
  const list = old && old.type === "aay" ? [...(old.value as Uint8Array[])] : [];
  list.push(...sigs);
  return ghashOrderPairs([...d, [key, new Variant("aay", list)]]);
}

export interface UpdateSummaryOptions {
  /** Extra metadata (`summary -m KEY=VALUE`), inserted first, in order. */
  additionalMetadata?: VarDict;
  /** Signers, applied in order (ostree: GPG first, then the sign engine). None = unsigned. */
  signers?: SummarySigner[];
  /** Clock (seconds), for tests. */
  now?: () => number;
}

/** Build the summary bytes for the repository as it is now. */
export function buildSummary(repo: Repo, opts: UpdateSummaryOptions = {}): Uint8Array {
  const mainCid = repo.collectionId;
  const refs: SummaryRef[] = [];
  for (const e of listRefs(repo, { kind: "heads" }).sort((a, b) => compareNames(a.ref, b.ref)))
    refs.push(refEntry(repo, e.ref, e.checksum));

  const meta: VarDict = [...(opts.additionalMetadata ?? [])];
  if (!repo.config.getBool("core", "no-deltas-in-summary", false)) {
    const deltas = listStaticDeltaDigests(repo);
    if (deltas.length) {
      const d = ghashOrderPairs(
        deltas.map(([n, h]): [string, Variant] => [n, new Variant("ay", checksumToBytes(h))]),
      );
      meta.push([SUMMARY_KEYS.staticDeltas, new Variant("a{sv}", d)]);
    }
  }
  const now = opts.now ? opts.now() : Math.floor(Date.now() / 1000);
  meta.push([SUMMARY_KEYS.lastModified, new Variant("t", bswap64(BigInt(now)))]);
  meta.push([SUMMARY_KEYS.mode, new Variant("s", repo.config.get("core", "mode") ?? "bare")]);
  meta.push([
    SUMMARY_KEYS.tombstoneCommits,
    new Variant("b", repo.config.getBool("core", "tombstone-commits", false)),
  ]);
  meta.push([SUMMARY_KEYS.indexedDeltas, new Variant("b", true)]);

  const collections = collectionRefs(repo, mainCid);
  const mapEntries: GVValue[] = [];
  for (const cid of [...collections.keys()].sort(compareNames)) {
    if (cid === mainCid) continue;
    const entries = collections.get(cid)!.sort((a, b) => compareNames(a.ref, b.ref));
    mapEntries.push([cid, refsToGV(entries.map((e) => refEntry(repo, e.ref, e.checksum)))]);
  }
  if (mainCid) meta.push([SUMMARY_KEYS.collectionId, new Variant("s", mainCid)]);
  if (mapEntries.length)
    meta.push([SUMMARY_KEYS.collectionMap, new Variant("a{sa(s(taya{sv}))}", mapEntries)]);
  return encodeSummary({ refs, metadata: ghashOrderPairs(meta) });
}

function collectionRefs(
  repo: Repo,
  mainCid: string | undefined,
): Map<string, Array<{ ref: string; checksum: string }>> {
  const out = new Map<string, Array<{ ref: string; checksum: string }>>();
  for (const e of listRefs(repo, { kind: "mirrors" })) {
    if (!e.remote) continue;
    const list = out.get(e.remote) ?? [];
    list.push({ ref: e.ref, checksum: e.checksum });
    out.set(e.remote, list);
  }
  for (const e of listRefs(repo, { kind: "remotes" })) {
    const cid = e.remote ? repo.config.get(`remote "${e.remote}"`, "collection-id") : undefined;
    if (!cid || cid === mainCid) continue;
    const list = out.get(cid) ?? [];
    if (!list.some((x) => x.ref === e.ref)) list.push({ ref: e.ref, checksum: e.checksum });
    out.set(cid, list);
  }
  return out;
}

/**
 * Regenerate `summary` (and `summary.sig` when signers are given; an old unmatched summary.sig is
 * removed), as `ostree summary -u`. Holds the repo lock shared, like ostree.
 * @returns the new summary bytes.
 * @throws ArborError OBJECT_NOT_FOUND (a ref's commit is missing), SIGNATURE_* from signers, IO
 */
export async function updateSummary(repo: Repo, opts: UpdateSummaryOptions = {}): Promise<Uint8Array> {
  let lock: LockHandle | null = null;
  if (repo.config.getBool("core", "locking", true)) {
    const secs = Number(repo.config.get("core", "lock-timeout-secs") ?? "300");
    lock = await acquireLock(repo.lockPath, "shared", { timeoutMs: secs * 1000 });
  }
  let tmp: string | null = null;
  try {
    // static deltas: like ostree, regenerating the summary rewrites delta-indexes/ (fact sheet §4.2)
    reindexDeltas(repo);
    const summary = buildSummary(repo, opts);
    // ostree's summary -u reindexes deltas, which records that this repo publishes delta indexes
    if (repo.config.get("core", "indexed-deltas") !== "true") {
      repo.reloadConfig();
      repo.config.set("core", "indexed-deltas", "true");
      repo.saveConfig();
    }
    tmp = mkdtempSync(join(repo.path, "tmp", "summary-"));
    writeFileAtomicSync(join(tmp, "summary"), summary, { mode: 0o644 });
    const signers = opts.signers ?? [];
    let sig: VarDict | null = null;
    for (const s of signers) sig = appendSignatures(sig, s.metadataKey, await s.sign(summary));
    if (sig) {
      writeFileAtomicSync(join(tmp, "summary.sig"), encodeVarDict(sig), { mode: 0o644 });
      // Same mtime on both, so HTTP caches consider them expired together (as ostree does).
      // (whole seconds: sub-microsecond times do not survive a round trip through utimes)
      const t = Math.floor(statSync(join(tmp, "summary.sig")).mtimeMs / 1000);
      utimesSync(join(tmp, "summary.sig"), t, t);
      utimesSync(join(tmp, "summary"), t, t);
    }
    renameSync(join(tmp, "summary"), join(repo.path, "summary"));
    if (sig) renameSync(join(tmp, "summary.sig"), join(repo.path, "summary.sig"));
    else rmSync(join(repo.path, "summary.sig"), { force: true });
    return summary;
  } catch (e) {
    throw e instanceof ArborError ? e : fromSystemError("Cannot update summary", e);
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    lock?.release();
  }
}

/** Read the repository's own `summary` and `summary.sig` (sig null when unsigned). */
export function readLocalSummary(repo: Repo): { summary: Uint8Array; sig: Uint8Array | null } {
  let summary: Uint8Array;
  try {
    summary = readFileSync(join(repo.path, "summary"));
  } catch (e) {
    if (errnoCode(e) === "ENOENT")
      throw new ArborError("NOT_FOUND", `No summary file in repository "${repo.path}"`);
    throw fromSystemError("Cannot read summary", e);
  }
  let sig: Uint8Array | null = null;
  try {
    sig = readFileSync(join(repo.path, "summary.sig"));
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw fromSystemError("Cannot read summary.sig", e);
  }
  return { summary, sig };
}

/** Decode a `summary.sig` (or commitmeta) signature dictionary. @throws ArborError OBJECT_CORRUPT */
export function decodeSignatureDict(b: Uint8Array, what = "summary.sig"): VarDict {
  return decodeVarDict(b, what);
}

/**
 * Regenerate the (unsigned) summary when `core.auto-update-summary` (or its deprecated alias
 * `core.commit-update-summary`) is true, as ostree 2022.7 does after every ref change: a
 * transaction that moved refs (Transaction.commit calls this), and each ref written outside one
 * (ref-immediate.ts for single refs; `refs --create/--delete` and pull's refs once per batch).
 * `prune` moves no refs and does not call it.
 * @throws ArborError OBJECT_NOT_FOUND (a ref's commit is missing), IO
 */
export async function maybeAutoUpdateSummary(repo: Repo): Promise<void> {
  if (
    repo.config.getBool("core", "auto-update-summary", false) ||
    repo.config.getBool("core", "commit-update-summary", false)
  ) {
    await updateSummary(repo);
  }
}
