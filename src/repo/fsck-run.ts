/**
 * One fsck run's state and its reactions to problems, as ostree's `fsck_one_object`: report a
 * missing object and mark the commits needing it partial; report a corrupt one and stop, go on
 * (`all`), or delete it and treat it as missing (`delete`). Each object is verified once and
 * reported once, whichever stage meets it first.
 */
import { decodeCommit } from "../core/metadata.js";
import type { ObjectType } from "../core/object-type.js";
import { ArborError, isArborError } from "../errors.js";
import { ghashOrder } from "../gvariant/ghash-order.js";
import { deleteObject, markCommitPartial } from "./delete-object.js";
import type { FsckIssue, FsckOptions, FsckProgress, FsckResult, FsckWarning } from "./fsck.js";
import { verifyBindings } from "./fsck-bindings.js";
import { fsckObject } from "./fsck-object.js";
import type { Repo } from "./repo.js";
import { objectKey, parseObjectKey } from "./traverse.js";

/** ostree (GLib) lists commit sets in hash-table order; so do we, for identical lines. */
function commitList(commits: string[]): string {
  return ghashOrder(commits).join(", ");
}

/** The state of one `fsckRepo` run (see the file comment). */
export class FsckRun {
  readonly result: FsckResult = {
    apiVersion: "arbor/v1",
    kind: "FsckResult",
    ok: true,
    commits: 0,
    objectsChecked: 0,
    errors: [],
    partialCommits: [],
    markedPartial: [],
    deleted: [],
    tombstones: [],
    partialNotVerified: 0,
    workers: 0,
  };
  foundCorruption = false;
  /** Objects already verified: key -> null (valid) or the problem. */
  private readonly checked = new Map<string, ArborError | null>();
  /** Objects whose problem was already reported. */
  private readonly reported = new Set<string>();

  constructor(
    readonly repo: Repo,
    readonly o: FsckOptions,
  ) {}

  warn(w: FsckWarning): void {
    this.o.onWarning?.(w);
  }

  phase(p: FsckProgress): void {
    if (!this.o.quiet || p.done !== undefined) this.o.onProgress?.(p);
  }

  /** Verify an object once; null if valid. */
  async check(key: string): Promise<ArborError | null> {
    const cached = this.checked.get(key);
    if (cached !== undefined) return cached;
    const { checksum, type } = parseObjectKey(key);
    let problem: ArborError | null = null;
    try {
      await fsckObject(this.repo, type, checksum);
    } catch (e) {
      problem = e as ArborError;
    }
    this.record(key, problem);
    return problem;
  }

  /** Note a verdict reached here or on a worker. @throws unexpected errors (not missing/corrupt). */
  record(key: string, problem: ArborError | null): void {
    if (problem && !isArborError(problem, "OBJECT_NOT_FOUND") && !isArborError(problem, "OBJECT_CORRUPT"))
      throw problem;
    this.checked.set(key, problem);
    this.result.objectsChecked++;
  }

  isChecked(key: string): boolean {
    return this.checked.has(key);
  }

  /**
   * Act on a problem as ostree's fsck_one_object does. `commits` are those containing the object
   * (null when it was reached through a ref). Returns true if it is now missing.
   */
  handle(key: string, problem: ArborError, commits: string[] | null): boolean {
    if (this.reported.has(key)) return problem.code === "OBJECT_NOT_FOUND";
    this.reported.add(key);
    const { checksum, type } = parseObjectKey(key);
    const list = commits?.length ? commitList(commits) : null;
    const base = { object: key, checksum, type, commits: commits ?? [], deleted: false };
    if (problem.code === "OBJECT_NOT_FOUND") {
      const message = list ? `Object missing in commits ${list}: ${key}` : `Object missing: ${key}`;
      const issue: FsckIssue = { ...base, kind: "missing", reason: "Object missing", message };
      this.result.errors.push(issue);
      this.warn({ kind: "missing", message, issue });
      this.missingFound(type, commits);
      return true;
    }
    const message = list ? `In commits ${list}: ${problem.message}` : problem.message;
    const reason = String(problem.data?.reason ?? problem.message);
    const issue: FsckIssue = { ...base, kind: "corrupt", reason, message };
    this.result.errors.push(issue);
    if (this.o.delete) {
      this.warn({ kind: "corrupt", message, issue });
      deleteObject(this.repo, type, checksum, { allowMissing: true });
      issue.deleted = true;
      this.result.deleted.push(key);
      this.checked.set(key, new ArborError("OBJECT_NOT_FOUND", `Deleted ${key}`));
      this.missingFound(type, commits);
      return true;
    }
    if (this.o.all) {
      this.foundCorruption = true;
      this.warn({ kind: "corrupt", message, issue });
      return false;
    }
    throw new ArborError("OBJECT_CORRUPT", message, { data: { ...issue }, cause: problem });
  }

  private missingFound(type: ObjectType, commits: string[] | null): void {
    this.foundCorruption = true;
    if (!commits || type === "commit") return;
    for (const c of ghashOrder(commits)) {
      if (!this.repo.hasObject("commit", c) || this.repo.isCommitPartial(c)) continue;
      if (markCommitPartial(this.repo, c, "fsck")) {
        this.result.markedPartial.push(c);
        this.warn({ kind: "marked-partial", message: `Marking commit as partial: ${c}`, commit: c });
      }
    }
  }

  /** Stage 1: a ref's commit must exist and be valid (and bound to the ref, if asked). */
  async checkRef(cs: string, refName: string, collectionId: string | null): Promise<void> {
    const key = objectKey(cs, "commit");
    const problem = await this.check(key);
    let nowMissing = false;
    if (problem) nowMissing = this.handle(key, problem, null);
    const label = collectionId ? `(${collectionId}, ${refName})` : refName;
    if (nowMissing) {
      const msg = `Loading commit for ref ${label}: No such metadata object ${key}`;
      if (!this.o.all) throw new ArborError("OBJECT_NOT_FOUND", msg, { data: { checksum: cs, ref: label } });
      return;
    }
    // (ostree turns --verify-back-refs into --verify-bindings only after this stage)
    if (problem || !this.o.verifyBindings) return;
    const commit = decodeCommit(this.repo.readMetadata("commit", cs), `commit ${cs}`);
    const why = verifyBindings(collectionId, refName, commit);
    if (why) this.bindingProblem(cs, `Commit ${cs}: ${why}`);
  }

  bindingProblem(cs: string, message: string): void {
    const key = objectKey(cs, "commit");
    this.result.errors.push({
      object: key,
      checksum: cs,
      type: "commit",
      kind: "binding",
      reason: message,
      message,
      commits: [cs],
      deleted: false,
    });
    if (!this.o.all) throw new ArborError("BAD_REF", message, { data: { checksum: cs } });
    this.foundCorruption = true;
    this.warn({ kind: "corrupt", message });
  }
}
