/**
 * Ref aliases (`refs --alias --create=A B`): a symlink in refs/heads, A -> B, made exactly as
 * ostree makes it (`../` once per `/` in A, then B), so both tools resolve and list it alike.
 */
import { mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { validateRef } from "../core/validate.js";
import { ArborError, fromSystemError } from "../errors.js";
import { readRef } from "./refs.js";
import type { Repo } from "./repo.js";

/** The symlink text ostree writes for alias `alias` -> `target` (both relative to refs/heads). */
export function aliasLinkText(alias: string, target: string): string {
  return `${"../".repeat(alias.split("/").length - 1)}${target}`;
}

/**
 * Create (or replace) alias `alias` pointing at the existing local ref `target`.
 * @throws ArborError BAD_REF, NOT_FOUND if `target` is not a local ref, USAGE for a self-alias, IO
 */
export function createRefAlias(repo: Repo, alias: string, target: string): void {
  validateRef(alias);
  validateRef(target);
  if (alias === target) throw new ArborError("USAGE", `Cannot create alias "${alias}" to itself`);
  if (!readRef(repo, target))
    throw new ArborError("NOT_FOUND", `Cannot create alias to non-existent ref: ${target}`);
  const p = join(repo.path, "refs/heads", alias);
  const tmp = join(repo.path, "tmp", `alias-${process.pid}-${Date.now()}`);
  try {
    mkdirSync(dirname(p), { recursive: true });
    symlinkSync(aliasLinkText(alias, target), tmp);
    renameSync(tmp, p);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw fromSystemError(`Cannot create alias "${alias}"`, e);
  }
}
