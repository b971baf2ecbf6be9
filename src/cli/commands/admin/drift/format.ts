/** Human output of a drift report, grouped by kind. */
import type { DriftReport } from "../../../../managed/drift.js";
import type { DriftItem } from "../../../../managed/drift-image.js";

const LETTER = { added: "A", removed: "D", modified: "M" } as const;

function line(i: DriftItem): string {
  const kinds = i.kinds?.length ? ` (${i.kinds.join(", ")})` : "";
  const layer = i.layer !== undefined ? ` [overrides layer "${i.layer}"]` : "";
  return `  ${LETTER[i.change]} ${i.path}${kinds}${layer}\n`;
}

/** The number of findings in a report. */
export function findings(r: DriftReport): number {
  return r.etc.length + r.image.length + r.corruption.length + r.var.length + (r.unlocked === "none" ? 0 : 1);
}

/** Format `r` for a terminal. */
export function formatDrift(r: DriftReport): string {
  let s = `Deployment ${r.stateroot} ${r.deployment} (${r.mode} check`;
  s += r.layers.length ? `; base ${r.base}, layers: ${r.layers.map((l) => l.name).join(", ")})\n` : ")\n";
  const group = (title: string, items: DriftItem[]): void => {
    if (!items.length) return;
    s += `${title}:\n${items.map(line).join("")}`;
  };
  group("/etc (undeclared changes)", r.etc);
  group("Image (outside /etc and /var)", r.image);
  group("Repository corruption (hardlinked objects changed in place; run ostree fsck)", r.corruption);
  if (r.var.length) {
    s += `/var (not declared by tmpfiles.d or /etc/arbor/var-allowlist):\n${r.var.map((p) => `  ${p}\n`).join("")}`;
  }
  if (r.unlocked !== "none")
    s += `Unlocked: ${r.unlocked} (an overlay on /usr may hold changes this check cannot see)\n`;
  if (r.declared.length) {
    const by = new Map<string, number>();
    for (const d of r.declared) by.set(d.layer, (by.get(d.layer) ?? 0) + 1);
    s += `Declared by layers: ${r.declared.length} path(s) (${[...by].map(([l, n]) => `${l}: ${n}`).join(", ")})\n`;
  }
  const n = findings(r);
  s += n === 0 ? `No drift (${r.checked} image entries checked)\n` : `Drift: ${n} finding(s)\n`;
  return s;
}
