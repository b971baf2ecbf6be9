/**
 * `debian:` compose inputs: a root filesystem bootstrapped by `mmdebstrap` (Debian's reproducible
 * bootstrapper) from a suite, a variant and a package list, with `SOURCE_DATE_EPOCH` set so the
 * files it generates carry the declared time. The result is only as reproducible as the archive:
 * a suite's packages change as the mirror is updated (docs/managed.md, "Debian inputs").
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArborError } from "../errors.js";

/** A `debian:` input. */
export interface DebianInput {
  suite: string;
  variant: string;
  packages: string[];
  mirror?: string;
}

/**
 * Host files mmdebstrap copies into the chroot (for debootstrap compatibility): removed, so the
 * image carries neither the build machine's name nor its resolver, and two machines build the
 * same tree. systemd supplies defaults for both at boot.
 */
export const HOST_FILES = ["etc/hostname", "etc/resolv.conf"] as const;

/**
 * The mmdebstrap command line for an input (exported for tests). With `SOURCE_DATE_EPOCH` in its
 * environment mmdebstrap clamps times and removes the logs and caches that record the build (see
 * its manual); the hook removes {@link HOST_FILES}. A snapshot.debian.org mirror serves Release
 * files past their Valid-Until date, so that check is off for it (and only for it).
 */
export function mmdebstrapArgs(d: DebianInput, dest: string): string[] {
  const args = [`--variant=${d.variant}`, "--mode=root", "--skip=output/dev", "--format=directory"];
  if (d.packages.length) args.push(`--include=${d.packages.join(",")}`);
  args.push(`--customize-hook=rm -f ${HOST_FILES.map((f) => `"$1/${f}"`).join(" ")}`);
  if (d.mirror && /^https?:\/\/snapshot\.debian\.org\//.test(d.mirror))
    args.push('--aptopt=Acquire::Check-Valid-Until "false"');
  args.push(d.suite, dest);
  if (d.mirror) args.push(d.mirror);
  return args;
}

/**
 * Bootstrap `d` into a fresh temp directory; the caller removes it with the returned `cleanup`.
 * @throws ArborError UNSUPPORTED (mmdebstrap not installed), IO (it failed; its last lines quoted)
 */
export async function bootstrapDebian(
  d: DebianInput,
  o: { sourceDateEpoch: number; signal?: AbortSignal; onLine?: (l: string) => void },
): Promise<{ path: string; cleanup: () => void }> {
  const work = mkdtempSync(join(tmpdir(), "arbor-debian-"));
  const dest = join(work, "rootfs");
  const cleanup = (): void => rmSync(work, { recursive: true, force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn("mmdebstrap", mmdebstrapArgs(d, dest), {
        env: { ...process.env, SOURCE_DATE_EPOCH: String(o.sourceDateEpoch), LC_ALL: "C.UTF-8" },
        stdio: ["ignore", "pipe", "pipe"],
        ...(o.signal ? { signal: o.signal } : {}),
      });
      let tail = "";
      const keep = (chunk: Buffer): void => {
        const s = chunk.toString();
        for (const l of s.split("\n")) if (l) o.onLine?.(l);
        tail = (tail + s).slice(-2000);
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      child.on("error", (e) =>
        reject(
          (e as NodeJS.ErrnoException).code === "ENOENT"
            ? new ArborError(
                "UNSUPPORTED",
                "Cannot build debian input: mmdebstrap is not installed (apt-get install mmdebstrap)",
              )
            : e,
        ),
      );
      child.on("close", (code) => {
        if (code === 0) resolve();
        else
          reject(
            new ArborError(
              "IO",
              `Cannot build debian input "${d.suite}": mmdebstrap exited ${code}: ${tail.trim().split("\n").slice(-3).join(" / ")}`,
            ),
          );
      });
    });
  } catch (e) {
    cleanup();
    throw e;
  }
  return { path: dest, cleanup };
}
