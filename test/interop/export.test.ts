/**
 * `arbor export` against `ostree export`: byte-identical archives for the same commit and options,
 * and an archive that extracts to what `ostree checkout` gives.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../src/cli/main.js";

let tmp: string;

function ostree(args: string[]): Buffer {
  return execFileSync("ostree", args, { cwd: tmp, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 });
}

/** arbor's CLI in-process; returns stdout bytes. */
async function arbor(args: string[]): Promise<Buffer> {
  const out: Buffer[] = [];
  let err = "";
  const code = await run(args, {
    prog: "ostree",
    env: {},
    cwd: tmp,
    stdout: {
      write: (c) => {
        out.push(Buffer.from(c));
      },
    },
    stderr: {
      write: (c) => {
        err += typeof c === "string" ? c : Buffer.from(c).toString();
      },
    },
  });
  if (code !== 0) throw new Error(`arbor ${args.join(" ")} exited ${code}: ${err}`);
  return Buffer.concat(out);
}

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-interop-export-")));
  const t = join(tmp, "tree");
  const long = "d".repeat(120);
  fs.mkdirSync(join(t, "usr/lib/x"), { recursive: true });
  fs.mkdirSync(join(t, long), { recursive: true });
  fs.writeFileSync(join(t, "usr/lib/x/data"), Buffer.alloc(300000, 3));
  fs.writeFileSync(join(t, "usr/empty"), "");
  fs.writeFileSync(join(t, `${long}/${"f".repeat(110)}`), "long");
  fs.writeFileSync(join(t, "ünïcødé"), "u");
  fs.symlinkSync("t".repeat(150), join(t, "longlink"));
  fs.symlinkSync("s", join(t, "L".repeat(130)));
  fs.symlinkSync("usr/empty", join(t, "short"));
  fs.writeFileSync(join(t, "owned"), "o");
  fs.lchownSync(join(t, "owned"), 3000000, 1234);
  fs.chmodSync(join(t, "owned"), 0o6750);
  fs.chmodSync(join(t, "usr/lib"), 0o700);
  execFileSync("setfattr", ["-n", "user.k", "-v", "v", join(t, "owned")]);
  for (const mode of ["archive", "bare"]) {
    ostree(["init", `--repo=${mode}`, `--mode=${mode}`]);
    ostree(["commit", `--repo=${mode}`, "-b", "main", "--timestamp=2023-05-06 07:08:09", t]);
  }
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.each(["archive", "bare"])("export from a %s repository", (mode) => {
  it.each([
    [[]],
    [["--prefix=root/"]],
    [["--prefix=foo"]],
    [["--subpath=/usr"]],
    [["--subpath=usr/lib", "--prefix=p/"]],
    [["--no-xattrs"]],
  ])("is byte-identical to ostree's with %j, to a file and to stdout", async (opts) => {
    const a = join(tmp, `a-${mode}.tar`);
    const o = join(tmp, `o-${mode}.tar`);
    await arbor(["export", `--repo=${mode}`, ...opts, `--output=${a}`, "main"]);
    ostree(["export", `--repo=${mode}`, ...opts, `--output=${o}`, "main"]);
    expect(fs.readFileSync(a).equals(fs.readFileSync(o))).toBe(true);
    const viaStdout = await arbor(["export", `--repo=${mode}`, ...opts, "main"]);
    expect(viaStdout.equals(ostree(["export", `--repo=${mode}`, ...opts, "main"]))).toBe(true);
  });

  it("extracts to the same files as ostree checkout", async () => {
    const a = join(tmp, `x-${mode}.tar`);
    await arbor(["export", `--repo=${mode}`, `--output=${a}`, "main"]);
    const x = join(tmp, `x-${mode}`);
    fs.mkdirSync(x);
    execFileSync("tar", ["-xf", a, "-C", x, "--numeric-owner"]);
    const co = join(tmp, `co-${mode}`);
    ostree(["checkout", `--repo=${mode}`, "main", co]);
    const listing = (root: string) =>
      execFileSync("find", [".", "-printf", "%P %s %#m %U/%G %y %l\\n"], { cwd: root, encoding: "utf8" })
        .split("\n")
        .sort()
        .join("\n");
    expect(listing(x)).toBe(listing(co));
    const tv = execFileSync("tar", ["-tvf", a], { encoding: "utf8" });
    expect(tv).toContain("2023-05-06 07:08");
  });
});
