/** `show --print-sizes REV`: the commit's `ostree.sizes` totals and what is still to fetch. */

import { formatSize } from "../core/format-size.js";
import { summarizeCommitSizes } from "../repo/commit-sizes.js";
import type { Repo } from "../repo/repo.js";

/**
 * The three lines ostree prints for `show --print-sizes`.
 * @throws ArborError NOT_FOUND when the commit has no `ostree.sizes`, OBJECT_CORRUPT
 */
export function printCommitSizes(repo: Repo, commit: string): string[] {
  const s = summarizeCommitSizes(repo, commit);
  return [
    `Compressed size (needed/total): ${formatSize(s.archived.needed)}/${formatSize(s.archived.total)}`,
    `Unpacked size (needed/total): ${formatSize(s.unpacked.needed)}/${formatSize(s.unpacked.total)}`,
    `Number of objects (needed/total): ${s.objects.needed}/${s.objects.total}`,
  ];
}
