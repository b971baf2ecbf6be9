// A deterministic synthetic file tree, so the bench runs without the Debian
// corpus. Same seed -> same names, modes, sizes, bytes, symlinks and hardlinks
// on every machine. About 5k regular files (~150 MB): mostly small files, a
// spread up to 1 MB, three large files (10, 16, 32 MB), ~5% duplicated
// content, relative symlinks (a few dangling), a few hardlinks, a few empty
// dirs, no xattrs, no device nodes. File bytes are half AES-CTR keystream,
// half repeated text, so they deflate roughly 2:1 like an OS tree.
import { createCipheriv, createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";

export const GENERATED_VERSION = 1;
const MARKER = ".corpus-complete";

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  "lib bin share doc man locale include etc usr var opt python3 perl5 x86_64 " +
  "systemd udev ssl certs zoneinfo icons fonts terminfo apt dpkg info cache " +
  "modules firmware kernel drivers net fs crypto sound gpu misc base core"
).split(" ");
const EXTS = ["", ".so", ".py", ".pl", ".conf", ".txt", ".gz", ".h", ".json", ".mo", ".list", ".service"];
const TEXT = Buffer.from(
  "The quick brown fox jumps over the lazy dog; OSTree stores content-addressed objects. ".repeat(64),
);

/** Writes `size` deterministic bytes for file number `id` to fd. */
function writeContent(fd, id, size) {
  const key = createHash("sha256").update(`arbor-bench-${id}`).digest();
  const cipher = createCipheriv("aes-128-ctr", key.subarray(0, 16), key.subarray(16, 32));
  const CH = 4096;
  const zeros = Buffer.alloc(CH / 2);
  const block = Buffer.alloc(64 * CH);
  let left = size;
  while (left > 0) {
    const n = Math.min(left, block.length);
    for (let off = 0; off < n; off += CH) {
      const half = Math.min(CH / 2, n - off);
      cipher.update(zeros).copy(block, off, 0, half);
      if (half < n - off)
        TEXT.copy(block, off + half, (id * 7) % 512, ((id * 7) % 512) + Math.min(CH / 2, n - off - half));
    }
    writeSync(fd, block, 0, n);
    left -= n;
  }
}

/** Describes the tree (pure): dirs, files, symlinks, hardlinks. */
export function planTree(seed = 20240101) {
  const rnd = mulberry32(seed);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  const dirs = [{ path: "", depth: 0, mode: 0o755 }];
  for (let i = 1; i < 320; i++) {
    let parent;
    do parent = pick(dirs);
    while (parent.depth >= 6);
    const mode = rnd() < 0.02 ? 0o700 : 0o755;
    dirs.push({ path: join(parent.path, `${pick(WORDS)}-${i}`), depth: parent.depth + 1, mode });
  }
  for (let i = 0; i < 8; i++)
    dirs.push({ path: join(pick(dirs).path, `empty-${i}`), depth: 7, mode: 0o755, empty: true });
  const fileDirs = dirs.filter((d) => !d.empty);
  const files = [];
  for (let i = 0; i < 5000; i++) {
    const r = rnd();
    let size;
    if (r < 0.03) size = 0;
    else if (r < 0.5) size = Math.floor(rnd() * 2048);
    else if (r < 0.85) size = 2048 + Math.floor(rnd() * 14336);
    else if (r < 0.98) size = 16384 + Math.floor(rnd() * 114688);
    else size = 131072 + Math.floor(rnd() * 917504);
    const m = rnd();
    const mode = m < 0.15 ? 0o755 : m < 0.17 ? 0o600 : m < 0.18 ? 0o444 : 0o644;
    // ~5% share the content of an earlier file (deduplicated by both tools)
    const contentId =
      files.length > 10 && rnd() < 0.05 ? files[Math.floor(rnd() * files.length)].contentId : i;
    const contentSize = contentId === i ? size : files.find((f) => f.contentId === contentId).size;
    files.push({
      path: join(pick(fileDirs).path, `f${i}-${pick(WORDS)}${pick(EXTS)}`),
      size: contentSize,
      mode,
      contentId,
    });
  }
  [10, 16, 32].forEach((mb, k) => {
    files.push({ path: `big/blob-${k}.img`, size: mb << 20, mode: 0o644, contentId: 100000 + k });
  });
  const symlinks = [];
  for (let i = 0; i < 300; i++) {
    const from = join(pick(fileDirs).path, `link-${i}`);
    const dangling = i % 30 === 0;
    const to = dangling ? `missing-target-${i}` : rnd() < 0.8 ? pick(files).path : pick(fileDirs).path || ".";
    symlinks.push({ path: from, target: dangling ? to : relative(dirname(from), to) || "." });
  }
  const hardlinks = [];
  for (let i = 0; i < 20; i++)
    hardlinks.push({ path: join(pick(fileDirs).path, `hl-${i}`), to: pick(files).path });
  return { dirs, files, symlinks, hardlinks };
}

/** Creates the tree at dest (reused if complete). Returns dest. */
export function ensureGeneratedTree(dest, log = console.error) {
  if (existsSync(join(dest, MARKER))) return dest;
  const t0 = Date.now();
  log(`bench: generating the synthetic tree at ${dest} …`);
  const tmp = `${dest}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const plan = planTree();
  const T = new Date("2024-01-01T00:00:00Z");
  mkdirSync(tmp, { recursive: true });
  for (const d of plan.dirs) mkdirSync(join(tmp, d.path), { recursive: true });
  mkdirSync(join(tmp, "big"), { recursive: true });
  for (const f of plan.files) {
    const fd = openSync(join(tmp, f.path), "w", 0o644);
    writeContent(fd, f.contentId, f.size);
    closeSync(fd);
    chmodSync(join(tmp, f.path), f.mode);
    utimesSync(join(tmp, f.path), T, T);
  }
  for (const s of plan.symlinks) {
    symlinkSync(s.target, join(tmp, s.path));
    lutimesSync(join(tmp, s.path), T, T);
  }
  for (const h of plan.hardlinks) linkSync(join(tmp, h.to), join(tmp, h.path));
  writeFileSync(join(tmp, MARKER), "");
  for (const d of [...plan.dirs].reverse()) {
    chmodSync(join(tmp, d.path), d.mode);
    utimesSync(join(tmp, d.path), T, T);
  }
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  log(`bench: generated tree ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return dest;
}
