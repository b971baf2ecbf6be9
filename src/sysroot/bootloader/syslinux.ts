/**
 * syslinux: `boot/syslinux/syslinux.cfg` (usually a symlink to `../loader/syslinux.cfg`).
 * Active when that path exists. The new `boot/loader.N/syslinux.cfg` keeps every line of the
 * current file except ostree's own `LABEL` blocks (those whose `KERNEL` is under `/ostree/` or
 * `/boot/ostree/`) and a `DEFAULT` naming an ostree entry; then one block per BLS entry:
 * `LABEL title`, `\tKERNEL /boot…`, `\tINITRD /boot…`, `\tDEVICETREE /boot…`, `\tAPPEND options`,
 * preceded by `DEFAULT title` of the first entry when the default is ours to set.
 */
import { lstatSync, readFileSync } from "node:fs";
import { ArborError, fromSystemError } from "../../errors.js";
import { writeFileAtomicSync } from "../../io/atomic-write.js";
import type { Sysroot } from "../sysroot.js";
import { type Bootloader, joinLines } from "./index.js";

const CONFIG = "boot/syslinux/syslinux.cfg";

/** True if `boot/syslinux/syslinux.cfg` exists (not following a symlink). */
export function syslinuxIsActive(sysroot: Sysroot): boolean {
  try {
    lstatSync(sysroot.abs(CONFIG));
    return true;
  } catch {
    return false;
  }
}

function entryLines(sysroot: Sysroot, bootversion: number, regenerateDefault: boolean, out: string[]): void {
  sysroot.readBootConfigs(bootversion).forEach((config, i) => {
    const title = config.get("title") ?? "(Untitled)";
    if (regenerateDefault && i === 0) out.push(`DEFAULT ${title}`);
    out.push(`LABEL ${title}`);
    const linux = config.get("linux");
    if (linux === undefined) throw new ArborError("SYSROOT", 'No "linux" key in bootloader config');
    out.push(`\tKERNEL /boot${linux}`);
    const initrd = config.get("initrd");
    if (initrd !== undefined) out.push(`\tINITRD /boot${initrd}`);
    const dt = config.get("devicetree");
    if (dt !== undefined) out.push(`\tDEVICETREE /boot${dt}`);
    const options = config.get("options");
    if (options !== undefined) out.push(`\tAPPEND ${options}`);
  });
}

/** The syslinux backend. */
export const syslinuxBootloader: Bootloader = {
  name: "syslinux",
  atomic: true,
  writeConfig(sysroot, bootversion) {
    let text: string;
    try {
      text = readFileSync(sysroot.abs(CONFIG), "utf8");
    } catch (e) {
      throw fromSystemError(`Cannot read "${CONFIG}"`, e);
    }
    const lines = text.split("\n");
    const out: string[] = [];
    let tmp: string[] = [];
    let kernelArg: string | null = null;
    let sawDefault = false;
    let regenerateDefault = false;
    let parsingLabel = false;
    for (let i = 0; i <= lines.length; i++) {
      const line = i < lines.length ? lines[i]! : null;
      if (parsingLabel && (line === null || !line.startsWith("\t"))) {
        parsingLabel = false;
        if (kernelArg === null) throw new ArborError("SYSROOT", "No KERNEL argument found after LABEL");
        if (!kernelArg.startsWith("/ostree/") && !kernelArg.startsWith("/boot/ostree/")) out.push(...tmp);
        tmp = [];
      }
      if (line === null) break;
      let skip = false;
      if (!parsingLabel && line.startsWith("LABEL ")) {
        parsingLabel = true;
        tmp = [];
      } else if (parsingLabel && line.startsWith("\tKERNEL ")) {
        kernelArg = line.slice("\tKERNEL ".length);
      } else if (!parsingLabel && line.startsWith("DEFAULT ")) {
        sawDefault = true;
        if (line.startsWith("DEFAULT ostree:") || line.includes("(ostree")) regenerateDefault = true;
        skip = true;
      }
      if (!skip) (parsingLabel ? tmp : out).push(line);
    }
    if (!sawDefault) regenerateDefault = true;
    entryLines(sysroot, bootversion, regenerateDefault, out);
    writeFileAtomicSync(sysroot.abs(`boot/loader.${bootversion}/syslinux.cfg`), joinLines(out), {
      mode: 0o644,
      fsync: false,
    });
  },
};
