/**
 * Test trees: a generator of hostile-but-valid OS-like trees, and a manifest of a tree on disk
 * (type, mode, owner, size, content hash, symlink target, xattrs) to compare checkouts.
 */
import { createHash } from "node:crypto";
import {
  chmodSync,
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { native } from "../../src/io/native.js";

/** True if user xattrs can be set in `dir`. */
export function supportsUserXattrs(dir: string): boolean {
  const p = join(dir, ".xattr-probe");
  writeFileSync(p, "");
  try {
    native().lsetxattr(p, "user.probe", new Uint8Array([1]));
    return true;
  } catch {
    return false;
  }
}

/**
 * Build a tree with the awkward cases a real OS image has: unicode and newline names, 255-byte
 * names, setuid/setgid/sticky, symlinks of every kind, hardlinks, empty files and dirs, a large
 * file, xattrs, other owners.
 */
export function makeHostileTree(
  root: string,
  o: { xattrs?: boolean; owners?: boolean; largeMB?: number } = {},
): void {
  const w = (rel: string, data: string | Uint8Array, mode = 0o644) => {
    const p = join(root, rel);
    writeFileSync(p, data);
    chmodSync(p, mode);
  };
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  mkdirSync(join(root, "usr/lib/modules/6.1.0"), { recursive: true });
  mkdirSync(join(root, "usr/share/empty-dir"), { recursive: true });
  mkdirSync(join(root, "etc/ünïcödé-dîr"), { recursive: true });
  mkdirSync(join(root, "tmp"), { recursive: true });
  chmodSync(join(root, "tmp"), 0o1777);
  mkdirSync(join(root, "srv/setgid-dir"), { recursive: true });
  chmodSync(join(root, "srv/setgid-dir"), 0o2775);
  w("usr/bin/sh", "#!/bin/sh\necho hi\n", 0o755);
  w("usr/bin/sudo", "setuid binary", 0o4755);
  w("usr/bin/wall", "setgid binary", 0o2755);
  w("usr/bin/sticky", "sticky file", 0o1644);
  w("usr/lib/modules/6.1.0/vmlinuz", "KERNEL", 0o644);
  w("etc/empty-file", "");
  w("etc/ünïcödé-dîr/日本語.conf", "unicode\n");
  w("etc/name with\nnewline", "newline in name\n");
  w("etc/ tab\tand space ", "spaces\n");
  w(`etc/${"x".repeat(255)}`, "255-byte name\n");
  w(`etc/${"é".repeat(127)}`, "254-byte utf-8 name\n");
  w("etc/private", "secret\n", 0o600);
  w("etc/B-upper", "sort order\n");
  w("etc/a-lower", "sort order\n");
  const big = Buffer.alloc((o.largeMB ?? 9) * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  w("usr/lib/large.bin", big);
  w("usr/lib/zeros.bin", Buffer.alloc(100000));
  symlinkSync("sh", join(root, "usr/bin/relative-link"));
  symlinkSync("/usr/bin/sh", join(root, "usr/bin/absolute-link"));
  symlinkSync("../../nonexistent/target", join(root, "usr/bin/dangling-link"));
  symlinkSync("../lib", join(root, "usr/bin/dir-link"));
  symlinkSync("y".repeat(1000), join(root, "usr/bin/long-target-link"));
  symlinkSync("/", join(root, "usr/bin/root-link"));
  linkSync(join(root, "usr/bin/sh"), join(root, "usr/bin/sh-hardlink"));
  if (o.xattrs) {
    native().lsetxattr(join(root, "usr/bin/sh"), "user.test", new TextEncoder().encode("value\0with-nul"));
    native().lsetxattr(join(root, "usr/bin/sh"), "user.another", new Uint8Array([0, 1, 2, 255]));
    native().lsetxattr(join(root, "etc"), "user.dir-attr", new TextEncoder().encode("d"));
  }
  if (o.owners) {
    chownSync(join(root, "etc/private"), 1234, 5678);
    chownSync(join(root, "srv/setgid-dir"), 42, 43);
    chmodSync(join(root, "srv/setgid-dir"), 0o2775); // chown clears setgid on some systems
    native();
  }
}

export interface ManifestEntry {
  type: "dir" | "file" | "symlink";
  mode: number;
  uid?: number;
  gid?: number;
  size?: number;
  sha256?: string;
  target?: string;
  xattrs?: Record<string, string>;
}

/** Describe every entry below `root` (sorted by path). */
export function treeManifest(
  root: string,
  o: { owners?: boolean; xattrs?: boolean; modes?: boolean } = {},
): Record<string, ManifestEntry> {
  const out: Record<string, ManifestEntry> = {};
  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    const st = lstatSync(abs);
    const e: ManifestEntry = {
      type: st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "file",
      mode: o.modes === false ? 0 : st.mode & 0o7777,
    };
    if (o.owners) {
      e.uid = st.uid;
      e.gid = st.gid;
    }
    if (e.type === "file") {
      e.size = st.size;
      e.sha256 = createHash("sha256").update(readFileSync(abs)).digest("hex");
    }
    if (e.type === "symlink") {
      e.target = readlinkSync(abs);
      e.mode = 0o777;
    }
    if (o.xattrs) {
      const x: Record<string, string> = {};
      for (const n of native().llistxattr(abs).sort()) {
        if (n === "user.ostreemeta") continue;
        x[n] = Buffer.from(native().lgetxattr(abs, n) ?? []).toString("hex");
      }
      if (Object.keys(x).length) e.xattrs = x;
    }
    out[rel || "/"] = e;
    if (e.type === "dir") for (const n of readdirSync(abs).sort()) walk(rel ? `${rel}/${n}` : n);
  };
  walk("");
  return out;
}
