/**
 * Worker thread body for pull-local's content copies (see pull-local-copy.ts): receives batches of
 * `[checksum, stagingPath]`, and for each reads the source object (inflating archive data),
 * checks that it hashes to its name, and writes it at the staging path in the destination's form
 * (stage-content.ts). Answers with one result per item: `[checksum, bytes]` when written,
 * `[checksum, -1]` when the object is too large to copy in memory (the main thread streams it),
 * `[checksum, code, message, data]` when it failed.
 */
import { parentPort, workerData } from "node:worker_threads";
import { isArborError } from "../errors.js";
import { type CopyResult, type CopyWorkerData, copyObject, SYSTEM_ERROR } from "./pull-local-copy.js";
import { Repo } from "./repo.js";

const port = parentPort;
if (port) {
  const d = workerData as CopyWorkerData;
  const src = Repo.open(d.srcPath);
  port.on("message", (batch: Array<[string, string]>) => {
    const out: CopyResult[] = [];
    for (const [cs, path] of batch) {
      try {
        out.push([cs, copyObject(src, d, cs, path)]);
      } catch (e) {
        if (isArborError(e)) out.push([cs, e.code, e.message, e.data]);
        else {
          // a system error while reading: the caller words it as it words its own
          const err = e as NodeJS.ErrnoException;
          out.push([cs, SYSTEM_ERROR, err.message, err.code === undefined ? undefined : { errno: err.code }]);
        }
      }
    }
    port.postMessage(out);
  });
  port.postMessage("ready");
}
