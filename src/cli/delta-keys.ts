/**
 * The signing or verification keys of the `static-delta` commands: the ones given on the command
 * line, then those of the (hidden, newer-ostree) `--keys-file`, read relative to the command's
 * working directory with the engine of `--sign-type` (default ed25519).
 */
import type { ParsedArgs } from "./command.js";
import type { Context } from "./context.js";

/** @throws ArborError from reading or parsing the keys file (naming it). */
export async function deltaKeys(
  ctx: Context,
  args: ParsedArgs,
  typed: string[],
  kind: "public" | "secret",
): Promise<Array<string | Uint8Array>> {
  const keysFile = args.str("keys-file");
  if (!keysFile) return typed;
  const { resolve } = await import("node:path");
  const { getSignEngine } = await import("../sign/engine.js");
  const { readKeysFile } = await import("../sign/keys.js");
  const engine = await getSignEngine(args.str("sign-type") ?? "ed25519", ctx.env);
  return [...typed, ...readKeysFile(engine, resolve(ctx.cwd, keysFile), kind)];
}
