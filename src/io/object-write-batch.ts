/**
 * Object files written in batches (io/pool-batcher.ts says why): the files a burst of work asks
 * for in one turn of the event loop go to the thread pool in a few `writeObjectFiles` trips
 * rather than one `writeObjectFile` trip each; each caller still gets its own promise and error.
 */
import type { NativeAddon, ObjectFileWrite } from "./native.js";
import { PoolBatcher } from "./pool-batcher.js";

type Addon = Required<Pick<NativeAddon, "writeObjectFile" | "writeObjectFiles">>;

export class ObjectWriteBatcher {
  private readonly batcher: PoolBatcher<ObjectFileWrite, undefined>;

  constructor(addon: Addon) {
    this.batcher = new PoolBatcher<ObjectFileWrite, undefined>({
      many: (items) => addon.writeObjectFiles(items) as Promise<Array<Error | undefined>>,
      one: async (item) => {
        await addon.writeObjectFile(...item);
        return undefined;
      },
      bytes: (item) => byteLength(item[1]),
    });
  }

  /**
   * Write one object file as `writeObjectFile` does (same arguments), batched with the others
   * asked for in this turn of the event loop.
   * @returns a promise settled when this file is written; rejected with its own error (a Node
   *   system error, or TypeError/RangeError for bad arguments).
   */
  write(...item: ObjectFileWrite): Promise<void> {
    return this.batcher.submit(item);
  }
}

function byteLength(data: Uint8Array | readonly Uint8Array[]): number {
  if (!Array.isArray(data)) return (data as Uint8Array).length;
  let n = 0;
  for (const c of data as readonly Uint8Array[]) n += c.length;
  return n;
}
