/**
 * The puller the admin commands hand to the upgrader: `file://` remotes through pull-local (any
 * repository mode), other remotes through the HTTP pull layer, with its downgrade check.
 */
import type { Puller } from "../../../sysroot/upgrade.js";

/** A puller for `upgrade`/`switch`. */
export async function cliPuller(): Promise<Puller> {
  const { localPuller } = await import("../../../sysroot/upgrade.js");
  const http: Puller = {
    async pull(repo, remote, refs, o) {
      const { pull } = await import("../../../pull/pull.js");
      await pull(repo, {
        remote,
        refs,
        ...(o.timestampCheckFromRev ? { timestampCheckFromRev: o.timestampCheckFromRev } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    },
  };
  return localPuller(http);
}
