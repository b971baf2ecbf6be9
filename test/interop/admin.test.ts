/**
 * Interop: sysroots made and managed by `arbor admin` and by the real `ostree admin` are
 * interchangeable. Each tool reads and changes what the other made, and the same sequence of
 * commands on two copies of one sysroot gives byte-identical boot entries, origins and bootloader
 * configs and the same directory tree (names, symlink targets, modes, owners).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arbor, hasOstree, ok, ostree } from "../helpers/cli.js";
import { makeOsTree, tempDir } from "../unit/sysroot/_fixtures.js";

type Tool = typeof arbor;
const TS = "--timestamp=2021-06-01 12:00:00 +0000";
const TS2 = "--timestamp=2021-06-02 12:00:00 +0000";

function admin(tool: Tool, sysroot: string, args: string[], env: Record<string, string> = {}): string {
  return ok(
    tool(["admin", ...args, `--sysroot=${sysroot}`], { env }),
    `${tool === arbor ? "arbor" : "ostree"} admin ${args.join(" ")}`,
  );
}

/** Every path under `root` (repo objects and lock files aside) with type, mode, owner and link target. */
function treeListing(root: string): string {
  const r = spawnSync(
    "find",
    [
      ".",
      "-path",
      "./ostree/repo/objects",
      "-prune",
      "-o",
      "-path",
      "./ostree/repo/tmp",
      "-prune",
      "-o",
      "-printf",
      "%M %U:%G %p -> %l\n",
    ],
    { cwd: root, encoding: "utf8" },
  );
  return r.stdout
    .split("\n")
    .filter((l) => l && !/\/\.lock |ostree\/repo\/(objects|tmp|state)|\/ostree\/lock /.test(l))
    .sort()
    .join("\n");
}

/** Contents of every boot entry, origin and bootloader config. */
function bootFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory() && !p.startsWith("ostree/repo") && !/\/deploy\/[0-9a-f]{64}\.\d+$/.test(p)) walk(p);
      else if (
        e.isFile() &&
        (p.endsWith(".conf") || p.endsWith(".origin") || p.endsWith(".cfg") || p.endsWith(".txt"))
      )
        out[p] = readFileSync(join(root, p), "utf8");
    }
  };
  walk("boot");
  walk("ostree/deploy");
  return out;
}

describe.skipIf(!hasOstree)("admin interop with ostree", () => {
  let t: Awaited<ReturnType<typeof tempDir>>;
  let tree1: string;
  let tree2: string;

  beforeAll(() => {
    t = tempDir("arbor-admin-interop-");
    tree1 = join(t.dir, "tree1");
    tree2 = join(t.dir, "tree2");
    makeOsTree(tree1, { etc: { "NetworkManager/nm.conf": "default\n" } });
    makeOsTree(tree2, {
      kernel: "a new kernel\n",
      etc: { "NetworkManager/nm.conf": "default\n", "new.conf": "new\n" },
    });
    writeFileSync(join(tree2, "usr/etc/foo.conf"), "a=2\n");
  });
  afterAll(() => t.cleanup());

  /** A sysroot made by `tool`, with two commits on testos/stable (v1 then v2). */
  function makeSysroot(tool: Tool, name: string): { path: string; v1: string; v2: string } {
    const path = join(t.dir, name);
    mkdirSync(path);
    admin(tool, path, ["init-fs", path]);
    admin(tool, path, ["os-init", "testos"]);
    const repo = `--repo=${path}/ostree/repo`;
    const v1 = ok(
      tool([
        "commit",
        repo,
        "-b",
        "testos/stable",
        "--bootable",
        "--add-metadata-string=version=1.0",
        TS,
        "-s",
        "v1",
        tree1,
      ]),
    );
    const v2 = ok(
      tool([
        "commit",
        repo,
        "-b",
        "testos/stable",
        "--bootable",
        "--add-metadata-string=version=2.0",
        TS2,
        "-s",
        "v2",
        tree2,
      ]),
    );
    return { path, v1, v2 };
  }

  it("ostree reads and manages a sysroot arbor made", () => {
    const { path, v1, v2 } = makeSysroot(arbor, "a-made");
    admin(arbor, path, ["deploy", "--os=testos", "--karg=root=LABEL=root", v1]);
    admin(arbor, path, ["deploy", "--os=testos", "testos/stable"]);
    const st = admin(ostree, path, ["status"]);
    expect(st).toBe(admin(arbor, path, ["status"]));
    expect(st).toContain(`testos ${v2}.0`);
    expect(st).toContain(`testos ${v1}.0`);
    admin(ostree, path, ["deploy", "--os=testos", "testos/stable"]);
    expect(admin(ostree, path, ["status"]).split("\n")[0]).toBe(`testos ${v2}.1`); // (output trimmed)
    // ostree's deploy keeps only the new deployment and the merge deployment: v1 is gone
    expect(readdirSync(join(path, "ostree/deploy/testos/deploy")).sort()).toEqual(
      [`${v2}.0`, `${v2}.0.origin`, `${v2}.1`, `${v2}.1.origin`].sort(),
    );
    admin(ostree, path, ["undeploy", "1"]);
    admin(ostree, path, ["cleanup"]);
    expect(readdirSync(join(path, "ostree/deploy/testos/deploy")).sort()).toEqual(
      [`${v2}.1`, `${v2}.1.origin`].sort(),
    );
    expect(admin(arbor, path, ["status"])).toBe(admin(ostree, path, ["status"]));
  });

  it("arbor reads and manages a sysroot ostree made", () => {
    const { path, v1, v2 } = makeSysroot(ostree, "o-made");
    admin(ostree, path, ["deploy", "--os=testos", "--karg=root=LABEL=root", v1]);
    admin(ostree, path, ["deploy", "--os=testos", "--retain", "testos/stable"]);
    admin(ostree, path, ["pin", "1"]);
    expect(admin(arbor, path, ["status"])).toBe(admin(ostree, path, ["status"]));
    expect(admin(arbor, path, ["status"])).toContain("Pinned: yes");
    admin(arbor, path, ["deploy", "--os=testos", "testos/stable"]);
    admin(arbor, path, ["undeploy", "0"]);
    admin(arbor, path, ["cleanup"]);
    expect(admin(ostree, path, ["status"])).toBe(admin(arbor, path, ["status"]));
    expect(admin(ostree, path, ["status"])).toContain(`testos ${v2}.0`);
    const json = JSON.parse(admin(arbor, path, ["status", "--json"]));
    expect(json.apiVersion).toBe("arbor/v1");
    expect(json.deployments.map((d: { checksum: string }) => d.checksum)).toEqual([v2, v1]);
  });

  /** The same steps through each tool on identical copies; returns the copies. */
  function sameSteps(bootloader: "none" | "syslinux" | "uboot" | "grub2-efi"): { a: string; o: string } {
    const base = makeSysroot(ostree, `base-${bootloader}`);
    let env: Record<string, string> = {};
    if (bootloader === "grub2-efi") {
      // A generator standing in for grub2-mkconfig: the entries of loader.N, named by the env.
      const gen = join(t.dir, "grub-gen.sh");
      writeFileSync(
        gen,
        '#!/bin/sh\nbv=$_OSTREE_GRUB2_BOOTVERSION\n{ echo "bv=$bv efi=$_OSTREE_GRUB2_IS_EFI"; cat "$(dirname "$2")"/../../../loader.$bv/entries/*.conf; } > "$2"\n',
        { mode: 0o755 },
      );
      env = { OSTREE_GRUB2_EXEC: gen };
    }
    const setup = (root: string): void => {
      if (bootloader === "syslinux") {
        mkdirSync(join(root, "boot/loader.0"), { recursive: true });
        symlinkSync("loader.0", join(root, "boot/loader"));
        writeFileSync(join(root, "boot/loader/syslinux.cfg"), "");
        mkdirSync(join(root, "boot/syslinux"));
        symlinkSync("../loader/syslinux.cfg", join(root, "boot/syslinux/syslinux.cfg"));
      } else if (bootloader === "uboot") {
        mkdirSync(join(root, "boot/loader.0"), { recursive: true });
        symlinkSync("loader.0", join(root, "boot/loader"));
        writeFileSync(join(root, "boot/loader/uEnv.txt"), "");
        symlinkSync("loader/uEnv.txt", join(root, "boot/uEnv.txt"));
      } else if (bootloader === "grub2-efi") {
        mkdirSync(join(root, "boot/efi/EFI/BOOT"), { recursive: true });
        mkdirSync(join(root, "boot/efi/EFI/debian"));
        writeFileSync(join(root, "boot/efi/EFI/debian/grub.cfg"), "installer's\n");
      }
    };
    setup(base.path);
    const a = join(t.dir, `same-a-${bootloader}`);
    const o = join(t.dir, `same-o-${bootloader}`);
    spawnSync("cp", ["-a", base.path, a]);
    spawnSync("cp", ["-a", base.path, o]);
    const steps: string[][] = [
      ["deploy", "--os=testos", "--karg=root=LABEL=root", "--karg=quiet", base.v1],
      ["@etc"],
      ["deploy", "--os=testos", "testos/stable"],
      ["deploy", "--os=testos", "--retain", "--karg-append=console=ttyS0", "testos/stable"],
      ["os-init", "otheros"],
      ["deploy", "--os=otheros", "testos/stable"],
      ["undeploy", "1"],
      ["deploy", "--os=testos", "--not-as-default", base.v1],
      ["pin", "0"],
      ["kargs", "edit-in-place", "--append-if-missing=foo=bar"],
      ["instutil", "set-kargs", "--merge", "--append=x=y"],
      ["deploy", "--os=testos", "--retain-rollback", "testos/stable"],
      ["cleanup"],
    ];
    for (const step of steps) {
      for (const [tool, root] of [
        [ostree, o],
        [arbor, a],
      ] as const) {
        if (step[0] === "@etc") {
          const d = admin(tool, root, ["--print-current-dir"]);
          writeFileSync(join(d, "etc/foo.conf"), "a=LOCAL\n");
          writeFileSync(join(d, "etc/local.conf"), "mine\n");
          spawnSync("rm", ["-r", join(d, "etc/NetworkManager")]);
          symlinkSync("/ENOENT", join(d, "etc/broken"));
          continue;
        }
        admin(tool, root, step, env);
      }
      expect(bootFiles(a), `after ${step.join(" ")}`).toEqual(bootFiles(o));
      expect(treeListing(a), `after ${step.join(" ")}`).toBe(treeListing(o));
    }
    return { a, o };
  }

  it("same commands give byte-identical entries and the same tree (no bootloader)", () => {
    const { a } = sameSteps("none");
    const entries = readdirSync(join(a, "boot/loader/entries")).sort();
    expect(entries.length).toBeGreaterThan(1);
  });

  it("same commands give byte-identical syslinux.cfg", () => {
    const { a, o } = sameSteps("syslinux");
    expect(readFileSync(join(a, "boot/loader/syslinux.cfg"), "utf8")).toBe(
      readFileSync(join(o, "boot/loader/syslinux.cfg"), "utf8"),
    );
    expect(readFileSync(join(a, "boot/loader/syslinux.cfg"), "utf8")).toContain("DEFAULT ");
  });

  it("same commands give byte-identical uEnv.txt", () => {
    const { a, o } = sameSteps("uboot");
    expect(readFileSync(join(a, "boot/loader/uEnv.txt"), "utf8")).toBe(
      readFileSync(join(o, "boot/loader/uEnv.txt"), "utf8"),
    );
    expect(readFileSync(join(a, "boot/loader/uEnv.txt"), "utf8")).toContain("kernel_image=/boot/ostree/");
  });

  it("same commands give byte-identical EFI grub.cfg (replaced in place, previous kept as .old)", () => {
    const { a, o } = sameSteps("grub2-efi");
    for (const f of ["grub.cfg", "grub.cfg.old"]) {
      expect(readFileSync(join(a, "boot/efi/EFI/debian", f), "utf8")).toBe(
        readFileSync(join(o, "boot/efi/EFI/debian", f), "utf8"),
      );
    }
    expect(readFileSync(join(a, "boot/efi/EFI/debian/grub.cfg"), "utf8")).toMatch(/^bv=[01] efi=1\ntitle /);
  });

  it("instutil grub2-generate prints the same GRUB entries as ostree (and refuses without 15_ostree's env)", () => {
    const { path, v1, v2 } = makeSysroot(ostree, "grub2-generate");
    admin(ostree, path, ["deploy", "--os=testos", "--karg=root=LABEL=root", v1]);
    admin(ostree, path, ["deploy", "--os=testos", v2]);
    const entries = join(path, "boot/loader/entries");
    const first = join(entries, readdirSync(entries).sort()[0]!);
    writeFileSync(
      first,
      readFileSync(first, "utf8").replace(/^title .*$/m, 'title it\'s "quoted" (ostree:1)'),
    );
    const env = {
      GRUB2_BOOT_DEVICE_ID: "uuid'x",
      GRUB2_PREPARE_ROOT_CACHE: "search --set=root --fs-uuid 1234",
    };
    for (const args of [[], ["0"], ["1"]]) {
      for (const efi of [{}, { _OSTREE_GRUB2_IS_EFI: "1" }]) {
        const cmd = ["instutil", "grub2-generate", ...args];
        expect(admin(arbor, path, cmd, { ...env, ...efi })).toBe(
          admin(ostree, path, cmd, { ...env, ...efi }),
        );
      }
    }
    expect(admin(arbor, path, ["instutil", "grub2-generate"], env)).toContain(
      "menuentry 'it'\\''s \"quoted\" (ostree:1)'",
    );
    const r = arbor(["admin", "instutil", "grub2-generate", `--sysroot=${path}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("GRUB2_BOOT_DEVICE_ID and GRUB2_PREPARE_ROOT_CACHE must be set");
    expect(arbor(["admin", "instutil", "grub2-generate", "2", `--sysroot=${path}`], { env }).stderr).toBe(
      "error: Invalid bootversion: 2\n",
    );
  });
});
