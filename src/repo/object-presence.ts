/**
 * Which loose objects a repository holds, for a burst of lookups: a pull asks about every object
 * of a commit's tree (6.8k for the Debian minbase tree), and an access(2) per object cost the main
 * thread ~16 µs each on the reference machine (~0.1 s of an update pull that fetches 200 objects).
 * Past the first {@link LIST_AFTER} lookups, each `objects/XX/` directory a lookup falls in is read
 * once (readdir) and later lookups there are answered from that listing. The threshold keeps a
 * small burst into a big repository from paying for listings larger than its lookups.
 *
 * A listing is a snapshot, like the absences a {@link Transaction} remembers: an object another
 * process stores after the listing was taken reads as absent, which costs only writing the same
 * bytes again under the same name. A listed name counts as present whatever it is (a bare
 * repository's symlink object may dangle and still be an object).
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { errnoCode } from "../errors.js";

/** Lookups answered one by one before directories are listed instead. */
export const LIST_AFTER = 512;

/** `objects/XX/` is this long in a relative object path (`objects/XX/REST.type`). */
const DIR_LEN = "objects/XX/".length;

export class ObjectPresence {
  private lookups = 0;
  /** Names in each listed `objects/XX` (key: the relative directory); null: could not be listed. */
  private readonly listings = new Map<string, Set<string> | null>();

  /** @param root the repository's path */
  constructor(private readonly root: string) {}

  /**
   * Whether the object at `rel` (`objects/XX/REST.type`) is present; `lookup` answers for one
   * object on its own (used for the first lookups, and where a directory cannot be listed).
   */
  has(rel: string, lookup: () => boolean): boolean {
    if (++this.lookups <= LIST_AFTER) return lookup();
    const dir = rel.slice(0, DIR_LEN - 1);
    let names = this.listings.get(dir);
    if (names === undefined) {
      names = this.list(dir);
      this.listings.set(dir, names);
    }
    return names === null ? lookup() : names.has(rel.slice(DIR_LEN));
  }

  private list(dir: string): Set<string> | null {
    try {
      return new Set(readdirSync(join(this.root, dir)));
    } catch (e) {
      // no such directory yet: nothing in it; anything else: ask object by object
      return errnoCode(e) === "ENOENT" ? new Set() : null;
    }
  }
}
