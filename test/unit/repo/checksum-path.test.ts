import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { native } from "../../../src/io/native.js";
import { checksumPath } from "../../../src/repo/checksum-path.js";
import { hasOstree, ok, ostree, tempDir } from "../../helpers/cli.js";
import { supportsUserXattrs } from "../../helpers/trees.js";

const t = tempDir("arbor-checksum-");
afterAll(() => t.cleanup());

describe.skipIf(!hasOstree)("checksumPath() agrees with `ostree checksum`", () => {
  it("on a large file with an empty-valued xattr (which ostree drops)", async () => {
    const f = join(t.dir, "big");
    const data = Buffer.alloc(9 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i, i);
    writeFileSync(f, data);
    if (supportsUserXattrs(t.dir)) {
      native().lsetxattr(f, "user.empty", new Uint8Array(0));
      native().lsetxattr(f, "user.x", new Uint8Array([1]));
    }
    expect(await checksumPath(f)).toBe(ok(ostree(["checksum", f])));
    expect(await checksumPath(f, { ignoreXattrs: true })).toBe(
      ok(ostree(["checksum", "--ignore-xattrs", f])),
    );
  });
});
