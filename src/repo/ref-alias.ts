/**
 * Ref aliases (`refs --alias --create=A B`): a relative symlink inside refs/heads, A -> B,
 * as ostree makes them, so both tools resolve A to B's commit.
 */
import { mkdirSync, renameSync, symlinkSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { validateRef } from "../core/validate.js";
import { ArborError } from "../errors.js";
import { readRef } from "./refs.js";
import type { Repo } from "./repo.js";

/**
 * Create alias `alias` pointing at the existing local ref `target`.
 * @throws ArborError BAD_REF, NOT_FOUND if `target` is not a local ref.
 */
export function createRefAlias(repo: Repo, alias: string, target: string): void {
  validateRef(alias);
  validateRef(target);
  if (!readRef(repo, target)) throw new ArborError("NOT_FOUND", `Cannot create alias "${alias}": "${target}" is not a local ref`);
  if (alias === target) throw new ArborError("USAGE", `Cannot create alias "${alias}" to itself`);
  const heads = join(repo.path, "refs/heads");
  const p = join(heads, alias);
  mkdirSync(dirname(p), { recursive: true });
  const tmp = `${p}.tmp-${process.pid}`;
  symlinkSync(relative(dirname(p), join(heads, target)), tmp);
  renameSync(tmp, p);
}
