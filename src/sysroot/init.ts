/**
 * Creating a sysroot and its stateroots: `admin init-fs` and `admin os-init` (fact sheet §7.1).
 *
 * init-fs: `boot/` and a `bare` repository in `ostree/repo` (plus `ostree/deploy`); without
 * `modern`, also the traditional top-level directories `dev home proc run sys` (0755), `root`
 * (0700) and `tmp` (1777). os-init (2022.7 layout): `ostree/deploy/NAME/var/{lib,log,tmp}` with
 * `var/tmp` 1777, `var/run -> ../run`, `var/lock -> ../run/lock`.
 */
import { chmodSync, mkdirSync, statSync, symlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { ArborError, errnoCode, fromSystemError } from "../errors.js";
import { validateName } from "../io/rooted-path.js";
import { Repo } from "../repo/repo.js";

function mkdirp(p: string, mode: number): void {
  try {
    mkdirSync(p, { recursive: true, mode });
  } catch (e) {
    throw fromSystemError(`Cannot create directory "${p}"`, e);
  }
}

/** Create `ostree/repo` (bare) and `ostree/deploy` if missing (ostree_sysroot_ensure_initialized). */
export function ensureSysrootInitialized(path: string): Repo {
  mkdirp(join(path, "ostree/repo"), 0o755);
  mkdirp(join(path, "ostree/deploy"), 0o755);
  return Repo.create(join(path, "ostree/repo"), { mode: "bare" });
}

/**
 * `admin init-fs PATH`: PATH must be an existing directory.
 * @throws ArborError NOT_FOUND (no such directory), EXISTS (a repo of another mode), IO
 */
export function initFs(path: string, o: { modern?: boolean } = {}): void {
  let st: import("node:fs").Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw fromSystemError(`opendir(${path})`, e);
  }
  if (!st.isDirectory()) throw new ArborError("IO", `opendir(${path}): Not a directory`);
  mkdirp(join(path, "boot"), 0o755);
  if (!o.modern) {
    for (const d of ["boot", "dev", "home", "proc", "run", "sys"]) mkdirp(join(path, d), 0o755);
    mkdirp(join(path, "root"), 0o700);
    mkdirp(join(path, "tmp"), 0o1777);
    chmodSync(join(path, "tmp"), 0o1777);
  }
  ensureSysrootInitialized(path);
}

/**
 * `admin os-init NAME`: create the stateroot NAME with its shared /var.
 * @throws ArborError BAD_NAME, EXISTS "Creating ostree/deploy/NAME: File exists", IO
 */
export function initOsname(sysrootPath: string, osname: string): void {
  validateName(osname);
  const deploy = join(sysrootPath, "ostree/deploy", osname);
  const step = (what: string, fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      if (errnoCode(e) === "EEXIST") throw new ArborError("EXISTS", `${what}: File exists`, { cause: e });
      throw fromSystemError(what, e);
    }
  };
  step(`Creating ostree/deploy/${osname}`, () => mkdirSync(deploy, { mode: 0o777 }));
  step("Creating var", () => mkdirSync(join(deploy, "var"), { mode: 0o777 }));
  step("Creating var/tmp", () => mkdirSync(join(deploy, "var/tmp"), { mode: 0o777 }));
  step("fchmod var/tmp", () => chmodSync(join(deploy, "var/tmp"), 0o1777));
  step("Creating var/lib", () => mkdirSync(join(deploy, "var/lib"), { mode: 0o777 }));
  step("Creating var/log", () => mkdirSync(join(deploy, "var/log"), { mode: 0o755 }));
  step("Symlinking var/run", () => symlinkSync("../run", join(deploy, "var/run")));
  step("Symlinking var/lock", () => symlinkSync("../run/lock", join(deploy, "var/lock")));
  // bump the mtime of ostree/deploy so watchers see the new stateroot
  const now = new Date();
  try {
    utimesSync(join(sysrootPath, "ostree/deploy"), now, now);
  } catch (e) {
    throw fromSystemError("Cannot update the mtime of ostree/deploy", e);
  }
}
