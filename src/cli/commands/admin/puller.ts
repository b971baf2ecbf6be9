/**
 * The puller the admin commands hand to the upgrader: `file://` remotes through pull-local, other
 * remotes through the HTTP pull layer when this build has one (`src/pull/`).
 */
import type { Puller } from "../../../sysroot/upgrade.js";

interface PullModule {
  pull?: (repo: unknown, opts: { remote: string; refs: string[]; signal?: AbortSignal }) => Promise<unknown>;
}

/** A puller for `upgrade`/`switch`. */
export async function cliPuller(): Promise<Puller> {
  const { localPuller } = await import("../../../sysroot/upgrade.js");
  const http: Puller = {
    async pull(repo, remote, refs, o) {
      let mod: PullModule | undefined;
      try {
        mod = (await import(/* not bundled: optional layer */ `../../../pull/${"pull.js"}`)) as PullModule;
      } catch {}
      if (!mod?.pull) {
        const { ArborError } = await import("../../../errors.js");
        throw new ArborError(
          "UNSUPPORTED",
          `Cannot pull from remote "${remote}": HTTP pull is not available in this build`,
        );
      }
      await mod.pull(repo, { remote, refs, ...(o.signal ? { signal: o.signal } : {}) });
    },
  };
  return localPuller(http);
}
