/**
 * Deployment origin files (`ostree/deploy/OS/deploy/CSUM.SERIAL.origin`, fact sheet §7.7): a GLib
 * key file saying where the deployment came from and how to upgrade it.
 *
 * ```
 * [origin]
 * refspec=REMOTE:REF          (or override-commit=CSUM, unconfigured-state=TEXT, unlocked=hotfix)
 *
 * [libostree-transient]
 * pinned=true                 (state that is not carried to the next deployment)
 * ```
 */
import { KeyFile } from "../repo/config.js";

/** The group holding state that must not be copied to a new deployment (pinning). */
export const ORIGIN_TRANSIENT_GROUP = "libostree-transient";

/** A new origin `[origin] refspec=REFSPEC`. */
export function originFromRefspec(refspec: string): KeyFile {
  const kf = new KeyFile();
  kf.set("origin", "refspec", refspec);
  return kf;
}

/**
 * Parse origin file text.
 * @throws ArborError BAD_CONFIG naming the file for text that is not a key file.
 */
export function parseOrigin(text: string, path: string): KeyFile {
  return KeyFile.parse(text, `origin file "${path}"`);
}

/** A copy of `origin` (through its text, so comments and order survive). */
export function cloneOrigin(origin: KeyFile): KeyFile {
  return KeyFile.parse(origin.toString(), "origin");
}

/**
 * Remove state that belongs to one deployment only before its origin seeds the next (`upgrade`):
 * the transient group (pinning), `override-commit` and `unlocked`, as ostree does.
 */
export function removeTransientState(origin: KeyFile): void {
  origin.removeGroup(ORIGIN_TRANSIENT_GROUP);
  origin.unset("origin", "override-commit");
  origin.unset("origin", "unlocked");
}

/** The `[origin] refspec`, if any. */
export function originRefspec(origin: KeyFile | null): string | undefined {
  return origin?.get("origin", "refspec");
}
