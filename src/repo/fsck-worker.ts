/**
 * Worker thread body for parallel content verification (see fsck-workers.ts): receives batches
 * of content checksums, verifies each with {@link fsckContentObject}, answers with one result per
 * checksum: `[checksum]` when valid, `[checksum, code, message, data]` when not.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isArborError } from "../errors.js";
import { fsckContentObject } from "./fsck-object.js";
import { Repo } from "./repo.js";

/** One verdict: valid, or the error's code, message and data. */
export type WorkerVerdict = [string] | [string, string, string, Record<string, unknown> | undefined];

const port = parentPort;
if (port) {
  const repo = Repo.open((workerData as { repoPath: string }).repoPath);
  port.on("message", async (batch: string[]) => {
    const out: WorkerVerdict[] = [];
    for (const cs of batch) {
      try {
        await fsckContentObject(repo, cs);
        out.push([cs]);
      } catch (e) {
        if (isArborError(e)) out.push([cs, e.code, e.message, e.data]);
        else out.push([cs, "IO", `Cannot verify content object ${cs}: ${(e as Error).message}`, undefined]);
      }
    }
    port.postMessage(out);
  });
  port.postMessage("ready");
}
