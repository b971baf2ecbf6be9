/**
 * GLib key-file (INI) reading and writing, as OSTree uses for the repo `config`, remotes and
 * origin files (fact sheet §3.2). Comments, blank lines and key order are preserved, so a file
 * that arbor rewrites differs from the original only where a value changed.
 */
import { ArborError } from "../errors.js";

type Line = { key: string; value: string } | { raw: string };

interface Group {
  name: string;
  lines: Line[];
}

function unescapeValue(v: string): string {
  return v.replace(/\\(.)/g, (m, c: string) => {
    switch (c) {
      case "s":
        return " ";
      case "n":
        return "\n";
      case "t":
        return "\t";
      case "r":
        return "\r";
      case "\\":
        return "\\";
      default:
        return m;
    }
  });
}

function escapeValue(v: string): string {
  let out = v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\r");
  if (out.startsWith(" ")) out = `\\s${out.slice(1)}`;
  return out;
}

/** An ordered, comment-preserving key file. */
export class KeyFile {
  private preamble: string[] = [];
  private groups: Group[] = [];

  /** @throws ArborError BAD_CONFIG naming the line that is not valid key-file syntax. */
  static parse(text: string, what = "key file"): KeyFile {
    const kf = new KeyFile();
    let cur: Group | null = null;
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    lines.forEach((line, i) => {
      const t = line.trim();
      if (t === "" || t.startsWith("#")) {
        if (cur) cur.lines.push({ raw: line });
        else kf.preamble.push(line);
        return;
      }
      if (t.startsWith("[")) {
        if (!t.endsWith("]") || t.length < 3) {
          throw new ArborError("BAD_CONFIG", `Invalid ${what}: line ${i + 1}: malformed group header "${t}"`);
        }
        const name = t.slice(1, -1);
        cur = kf.groups.find((g) => g.name === name) ?? null;
        if (!cur) {
          cur = { name, lines: [] };
          kf.groups.push(cur);
        }
        return;
      }
      const eq = line.indexOf("=");
      if (eq < 0 || !cur) {
        throw new ArborError(
          "BAD_CONFIG",
          `Invalid ${what}: line ${i + 1}: expected "key=value" inside a [group]`,
        );
      }
      const key = line.slice(0, eq).trim();
      const value = unescapeValue(line.slice(eq + 1).replace(/^\s+/, ""));
      const existing = cur.lines.find((l) => "key" in l && l.key === key) as
        | { key: string; value: string }
        | undefined;
      if (existing) existing.value = value;
      else cur.lines.push({ key, value });
    });
    return kf;
  }

  /** Serialize as GLib does: `[group]`, `key=value`, groups separated by a blank line. */
  toString(): string {
    const out: string[] = [...this.preamble];
    for (const g of this.groups) {
      out.push(`[${g.name}]`);
      for (const l of g.lines) out.push("raw" in l ? l.raw : `${l.key}=${escapeValue(l.value)}`);
    }
    return out.length ? `${out.join("\n")}\n` : "";
  }

  groupNames(): string[] {
    return this.groups.map((g) => g.name);
  }

  hasGroup(group: string): boolean {
    return this.groups.some((g) => g.name === group);
  }

  keys(group: string): string[] {
    const g = this.groups.find((x) => x.name === group);
    return g ? g.lines.flatMap((l) => ("key" in l ? [l.key] : [])) : [];
  }

  get(group: string, key: string): string | undefined {
    const g = this.groups.find((x) => x.name === group);
    const l = g?.lines.find((x) => "key" in x && x.key === key) as { value: string } | undefined;
    return l?.value;
  }

  /** Boolean as GLib reads it: true/false, also 1/0. @throws ArborError BAD_CONFIG */
  getBool(group: string, key: string, dflt: boolean): boolean {
    const v = this.get(group, key);
    if (v === undefined) return dflt;
    const t = v.trim().toLowerCase();
    if (t === "true" || t === "1") return true;
    if (t === "false" || t === "0") return false;
    throw new ArborError("BAD_CONFIG", `Invalid boolean "${v}" for ${group}.${key}`);
  }

  /** A `;`-separated list (trailing `;` optional). */
  getList(group: string, key: string): string[] | undefined {
    const v = this.get(group, key);
    if (v === undefined) return undefined;
    return v
      .split(/(?<!\\);/)
      .map((s) => s.replace(/\\;/g, ";"))
      .filter((s, i, a) => !(s === "" && i === a.length - 1));
  }

  set(group: string, key: string, value: string): void {
    let g = this.groups.find((x) => x.name === group);
    if (!g) {
      const last = this.groups[this.groups.length - 1];
      // GLib separates a newly added group from the previous one by a blank line
      if (last && !(last.lines.length && "raw" in last.lines[last.lines.length - 1]!))
        last.lines.push({ raw: "" });
      g = { name: group, lines: [] };
      this.groups.push(g);
    }
    const l = g.lines.find((x) => "key" in x && x.key === key) as { value: string } | undefined;
    if (l) l.value = value;
    else {
      // insert after the last key (before trailing blank/comment lines)
      let at = g.lines.length;
      while (at > 0 && "raw" in g.lines[at - 1]!) at--;
      g.lines.splice(at, 0, { key, value });
    }
  }

  setBool(group: string, key: string, v: boolean): void {
    this.set(group, key, v ? "true" : "false");
  }

  setList(group: string, key: string, items: string[]): void {
    this.set(group, key, items.map((s) => `${s.replace(/;/g, "\\;")};`).join(""));
  }

  /** Remove a key; returns whether it existed. */
  unset(group: string, key: string): boolean {
    const g = this.groups.find((x) => x.name === group);
    if (!g) return false;
    const i = g.lines.findIndex((x) => "key" in x && x.key === key);
    if (i < 0) return false;
    g.lines.splice(i, 1);
    return true;
  }

  /** Remove a whole group; returns whether it existed. */
  removeGroup(group: string): boolean {
    const i = this.groups.findIndex((g) => g.name === group);
    if (i < 0) return false;
    this.groups.splice(i, 1);
    const prev = this.groups[i - 1];
    // drop the blank separator that introduced the removed group
    if (prev?.lines.length && "raw" in prev.lines[prev.lines.length - 1]! && i === this.groups.length) {
      const l = prev.lines[prev.lines.length - 1] as { raw: string };
      if (l.raw.trim() === "") prev.lines.pop();
    }
    return true;
  }
}
