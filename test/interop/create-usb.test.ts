/**
 * `create-usb` against `ostree create-usb` on the same setup (a repository whose refs came from a
 * remote with a collection ID): same collection–refs, objects, summary refs and `repos.d` symlink,
 * same output line; the usage and bad-input errors ostree gives; and a destination outside the
 * mount is refused without writing anything there.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { arborInProcess, type InProcessResult } from "../helpers/in-process.js";

const CID = "org.example.Collection1";
let tmp: string;
let local: string; // the repository create-usb copies from
let count = 0;

function ostree(args: string[]): string {
  return execFileSync("ostree", args, { cwd: tmp, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function ostreeRun(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("ostree", args, { cwd: tmp, encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function arbor(args: string[]): Promise<InProcessResult> {
  return arborInProcess(args, tmp);
}

function mount(): string {
  const m = `mount${count++}`;
  fs.mkdirSync(join(tmp, m));
  return m;
}

/** Every ref and object file, sorted (not sizes: compressed `.filez` may differ by zlib settings). */
function holdings(repo: string): string {
  return execFileSync("find", ["refs", "objects", "-type", "f", "-printf", "%p\\n"], {
    cwd: join(tmp, repo),
    encoding: "utf8",
  })
    .split("\n")
    .sort()
    .join("\n");
}

function collectionRefs(repo: string): string {
  return ostree(["refs", `--repo=${repo}`, "--collections"])
    .split("\n")
    .sort()
    .join("\n");
}

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), "arbor-interop-usb-")));
  ostree(["init", "--repo=repo", "--mode=archive", `--collection-id=${CID}`]);
  fs.mkdirSync(join(tmp, "tree/root"), { recursive: true });
  for (let i = 1; i <= 3; i++) {
    fs.appendFileSync(join(tmp, "tree/root/a"), "a\n");
    ostree(["commit", "--repo=repo", `--branch=test-${i}`, "-m", "test", "--timestamp=2024-01-01", "tree"]);
  }
  fs.appendFileSync(join(tmp, "tree/root/a"), "b\n");
  ostree(["commit", "--repo=repo", "--branch=test-1", "-m", "again", "--timestamp=2024-01-02", "tree"]);
  ostree(["summary", "-u", "--repo=repo"]);
  ostree(["init", "--repo=local-repo", "--mode=bare-user"]);
  ostree([
    "remote",
    "add",
    "--repo=local-repo",
    "--no-gpg-verify",
    `--collection-id=${CID}`,
    "remote1",
    `file://${tmp}/repo`,
  ]);
  ostree(["pull", "--repo=local-repo", "--depth=1", "remote1", "test-1", "test-2", "test-3"]);
  local = join(tmp, "local-repo");
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("create-usb against ostree", () => {
  it("copies two refs into MOUNT/.ostree/repo like ostree", async () => {
    const [mine, theirs] = [mount(), mount()];
    const refs = [CID, "test-1", CID, "test-2"];
    const r = await arbor(["create-usb", "--repo=local-repo", mine, ...refs]);
    const o = ostreeRun(["create-usb", "--repo=local-repo", theirs, ...refs]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(o.code).toBe(0);
    expect(r.out).toBe(o.out.replace(theirs, mine));
    expect(r.out).toBe(
      `Copied 2/2 refs successfully from ‘${local}’ to ‘.ostree/repo’ repository in ‘${mine}’.\n`,
    );
    const [a, b] = [`${mine}/.ostree/repo`, `${theirs}/.ostree/repo`];
    expect(ostree(["config", `--repo=${a}`, "get", "core.mode"]).trim()).toBe("archive-z2");
    expect(collectionRefs(a)).toBe(collectionRefs(b));
    expect(collectionRefs(a)).toContain(`(${CID}, test-2)`);
    expect(collectionRefs(a)).not.toContain("test-3");
    expect(holdings(a)).toBe(holdings(b));
    expect(ostree(["summary", "-v", `--repo=${a}`])).toContain(`(${CID}, test-1)`);
    expect(spawnSync("ostree", ["fsck", `--repo=${join(tmp, a)}`]).status).toBe(0);
    expect(fs.existsSync(join(tmp, mine, ".ostree/repos.d"))).toBe(false);
  });

  it("links a non-standard destination from .ostree/repos.d and adds refs on a re-run", async () => {
    const [mine, theirs] = [mount(), mount()];
    for (const refs of [
      [CID, "test-1"],
      [CID, "test-2", CID, "test-3"],
    ]) {
      expect(
        (await arbor(["create-usb", "--repo=local-repo", "--destination-repo", "some-dest", mine, ...refs]))
          .code,
      ).toBe(0);
      ostree(["create-usb", "--repo=local-repo", "--destination-repo", "some-dest", theirs, ...refs]);
    }
    const link = join(tmp, mine, ".ostree/repos.d/00-generated");
    expect(fs.readlinkSync(link)).toBe(fs.readlinkSync(join(tmp, theirs, ".ostree/repos.d/00-generated")));
    expect(fs.readlinkSync(link)).toBe("../../some-dest");
    const viaLink = `${mine}/.ostree/repos.d/00-generated`;
    expect(collectionRefs(viaLink)).toBe(collectionRefs(`${theirs}/some-dest`));
    expect(ostree(["summary", "-v", `--repo=${viaLink}`])).toContain(`(${CID}, test-3)`);
    // ostree 2022.7 adds 01-generated on the re-run (its check compares the link's own inode); arbor reuses 00
    expect(fs.readdirSync(join(tmp, mine, ".ostree/repos.d"))).toEqual(["00-generated"]);
  });

  it("--commit copies that commit (here the ref's parent) for the one ref", async () => {
    const m = mount();
    const c1 = ostree(["rev-parse", "--repo=repo", "test-1^"]).trim();
    expect(c1).not.toBe(ostree(["rev-parse", "--repo=repo", "test-1"]).trim());
    const r = await arbor(["create-usb", "--repo=local-repo", `--commit=${c1}`, m, CID, "test-1"]);
    expect(r.code).toBe(0);
    const ref = join(tmp, m, ".ostree/repo/refs/mirrors", CID, "test-1");
    expect(fs.readFileSync(ref, "utf8").trim()).toBe(c1);
  });
});

describe("create-usb bad input, as ostree", () => {
  it.each([
    [[], "A MOUNT-PATH must be specified"],
    [["m"], "At least one COLLECTION-ID REF pair must be specified"],
    [["m", CID], "At least one COLLECTION-ID REF pair must be specified"],
    [["m", CID, "test-1", CID], "Only complete COLLECTION-ID REF pairs may be specified"],
    [
      ["--commit=abc", "m", CID, "test-1", CID, "test-2"],
      "The --commit option can only be used when a single COLLECTION-ID REF pair is specified",
    ],
  ])("create-usb %j: %s", async (args, message) => {
    const r = await arbor(["create-usb", "--repo=local-repo", ...args]);
    const o = ostreeRun(["create-usb", "--repo=local-repo", ...args]);
    expect(o.err).toContain(`error: ${message}\n`);
    expect(r.err).toContain(`error: ${message}\n`);
    expect(r.err).toContain("Usage:");
    expect(r.code).not.toBe(0);
  });

  it.each([
    [["nomount", CID, "test-1"], "opendir("],
    [["MOUNT", "a..b", "test-1"], "Invalid collection ID a..b"],
    [["MOUNT", CID, "nope"], `Collection–ref (${CID}, nope) not found`],
  ])("create-usb %j fails naming it", async (args, message) => {
    const m = mount();
    const argv = args.map((a) => (a === "MOUNT" ? m : a));
    const r = await arbor(["create-usb", "--repo=local-repo", ...argv]);
    const o = ostreeRun(["create-usb", "--repo=local-repo", ...argv]);
    expect(o.code).toBe(1);
    expect(o.err).toContain(message);
    expect(r.code).toBe(1);
    expect(r.err).toContain(message);
  });

  it("refuses a destination outside the mount (ostree would write there) or the source itself", async () => {
    const m = mount();
    for (const dest of ["../outside", "/abs", "sub/../../outside2"]) {
      const r = await arbor([
        "create-usb",
        "--repo=local-repo",
        `--destination-repo=${dest}`,
        m,
        CID,
        "test-1",
      ]);
      expect(r.code).toBe(1);
      expect(r.err).toContain("--destination-repo must be a descendent of MOUNT-PATH");
    }
    expect(fs.existsSync(join(tmp, "outside"))).toBe(false);
    expect(fs.existsSync(join(tmp, "outside2"))).toBe(false);
    fs.symlinkSync(join(tmp, "elsewhere"), join(tmp, m, "escape"));
    fs.mkdirSync(join(tmp, "elsewhere"));
    const r = await arbor([
      "create-usb",
      "--repo=local-repo",
      "--destination-repo=escape/repo",
      m,
      CID,
      "test-1",
    ]);
    expect(r.err).toContain("--destination-repo must be a descendent of MOUNT-PATH");
    expect(fs.readdirSync(join(tmp, "elsewhere"))).toEqual([]);
    const self = await arbor([
      "create-usb",
      "--repo=local-repo",
      "--destination-repo=local-repo",
      ".",
      CID,
      "test-1",
    ]);
    expect(self.code).toBe(1);
    expect(self.err).toContain("--destination-repo must not be the source repository");
  });
});
