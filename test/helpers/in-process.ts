/**
 * The CLI run inside the test process (`run()` from src/cli/main.ts, as `ostree`): faster than
 * spawning bin/arbor and it runs the TypeScript sources, so interop tests that call arbor many
 * times use it. Output is collected as text.
 */
import { run } from "../../src/cli/main.js";

export interface InProcessResult {
  code: number;
  out: string;
  err: string;
}

const text = (c: string | Uint8Array): string => (typeof c === "string" ? c : Buffer.from(c).toString());

/** Run `arbor ARGS` in this process, in `cwd`, with an empty environment. */
export async function arborInProcess(args: string[], cwd: string): Promise<InProcessResult> {
  let out = "";
  let err = "";
  const code = await run(args, {
    prog: "ostree",
    env: {},
    cwd,
    stdout: {
      write: (c) => {
        out += text(c);
      },
    },
    stderr: {
      write: (c) => {
        err += text(c);
      },
    },
  });
  return { code, out, err };
}
