/** `ostree show CHECKSUM` for a content object: its type, size or target, mode, owner and xattrs. */
import { xattrsToGV } from "../core/content-header.js";
import { isLnk } from "../core/mode.js";
import { ArborError, isArborError } from "../errors.js";
import { printVariant } from "../gvariant/text.js";
import { statFileObject } from "../repo/read-object.js";
import type { Repo } from "../repo/repo.js";

/**
 * The text ostree prints for a file object (ends with a newline).
 * @throws ArborError OBJECT_NOT_FOUND "Opening content object X: Couldn't find file object 'X'"
 */
export function showFileObject(repo: Repo, checksum: string): string {
  let obj: ReturnType<typeof statFileObject>;
  try {
    obj = statFileObject(repo, checksum);
  } catch (e) {
    if (isArborError(e, "OBJECT_NOT_FOUND"))
      throw new ArborError(
        "OBJECT_NOT_FOUND",
        `Opening content object ${checksum}: Couldn't find file object '${checksum}'`,
      );
    throw e;
  }
  const h = obj.header;
  const lines = [`Object: ${checksum}`, "Type: file"];
  if (isLnk(h.mode)) lines.push("File Type: symlink", `Target: ${h.symlinkTarget}`);
  else lines.push("File Type: regular", `Size: ${obj.size}`);
  lines.push(
    `Mode: 0${h.mode.toString(8).padStart(4, "0")}`,
    `Uid: ${h.uid}`,
    `Gid: ${h.gid}`,
    `Extended Attributes: { ${printVariant("a(ayay)", xattrsToGV(h.xattrs))} }`,
  );
  return `${lines.join("\n")}\n`;
}
