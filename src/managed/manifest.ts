/**
 * The compose manifest: the declared inputs of an OS image (docs/managed.md, "Manifest").
 *
 * ```yaml
 * ref: testos/x86_64/stable        # branch to move (required)
 * version: "1.0"                   # commit metadata `version` (required)
 * source_date_epoch: 1700000000    # commit timestamp (else $SOURCE_DATE_EPOCH; one is required)
 * inputs:                          # in order, later entries overwrite earlier ones path by path
 *   - dir: rootfs                  # relative paths are relative to the manifest's folder
 *   - tar: extra.tar.zst           # gzip, xz, zstd or plain
 *   - ref: testos/base             # a commit of this repo, or of `repo:`
 *     repo: ../other-repo
 *   - debian: {suite: bookworm, variant: minbase, packages: [systemd]}
 * layers:                          # file layers on top, OCI `.wh.NAME` whiteouts delete NAME
 *   - dir: overlay
 * metadata: {key: value}           # string, number, boolean or list of strings
 * normalize: {owner: keep|root, permissions: keep|canonical, xattrs: keep|drop}
 * postprocess: ostree|none         # make a plain rootfs deployable (default ostree)
 * ```
 * Parsing is strict: unknown keys are errors, and every error names the field it is about.
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { parse as parseYaml } from "yaml";
import { isRef } from "../core/validate.js";
import { ArborError, fromSystemError } from "../errors.js";

/** One input or layer source. Paths are absolute after {@link loadManifest}. */
export type ManifestSource =
  | { kind: "dir"; path: string }
  | { kind: "tar"; path: string }
  | { kind: "ref"; ref: string; repo?: string }
  | { kind: "debian"; suite: string; variant: string; packages: string[]; mirror?: string };

/** How host-dependent metadata of `dir:`/`tar:`/`debian:` content is normalized. */
export interface Normalize {
  /** `root`: every entry owned by 0:0. */
  owner: "keep" | "root";
  /** `canonical`: modes masked to 0755 (no setuid/setgid/sticky, no group/other write). */
  permissions: "keep" | "canonical";
  /** `drop`: no extended attributes. */
  xattrs: "keep" | "drop";
}

/** A validated manifest. */
export interface Manifest {
  ref: string;
  version: string;
  sourceDateEpoch: number;
  subject?: string;
  inputs: ManifestSource[];
  layers: ManifestSource[];
  /** Metadata in declaration order. */
  metadata: Array<[string, string | number | boolean | string[]]>;
  normalize: Normalize;
  postprocess: "ostree" | "none";
}

const SOURCE = {
  oneOf: [
    {
      type: "object",
      required: ["dir"],
      additionalProperties: false,
      properties: { dir: { type: "string", minLength: 1 } },
    },
    {
      type: "object",
      required: ["tar"],
      additionalProperties: false,
      properties: { tar: { type: "string", minLength: 1 } },
    },
    {
      type: "object",
      required: ["ref"],
      additionalProperties: false,
      properties: { ref: { type: "string", minLength: 1 }, repo: { type: "string", minLength: 1 } },
    },
    {
      type: "object",
      required: ["debian"],
      additionalProperties: false,
      properties: {
        debian: {
          type: "object",
          required: ["suite"],
          additionalProperties: false,
          properties: {
            suite: { type: "string", pattern: "^[a-z0-9][a-z0-9.-]*$" },
            variant: {
              enum: [
                "extract",
                "custom",
                "essential",
                "apt",
                "required",
                "minbase",
                "buildd",
                "important",
                "debootstrap",
                "standard",
              ],
            },
            packages: { type: "array", items: { type: "string", pattern: "^[a-z0-9][a-z0-9+.:=~-]*$" } },
            mirror: { type: "string", minLength: 1 },
          },
        },
      },
    },
  ],
};

/** The JSON schema of a manifest (draft-07). Exported for documentation and editors. */
export const MANIFEST_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "arbor compose manifest",
  type: "object",
  required: ["ref", "version", "inputs"],
  additionalProperties: false,
  properties: {
    apiVersion: { const: "arbor/v1" },
    ref: { type: "string", minLength: 1 },
    version: { type: ["string", "number"] },
    source_date_epoch: { type: ["integer", "string"] },
    subject: { type: "string" },
    inputs: { type: "array", minItems: 1, items: SOURCE },
    layers: { type: "array", items: SOURCE },
    metadata: {
      type: "object",
      additionalProperties: {
        anyOf: [
          { type: "string" },
          { type: "number" },
          { type: "boolean" },
          { type: "array", items: { type: "string" } },
        ],
      },
    },
    normalize: {
      type: "object",
      additionalProperties: false,
      properties: {
        owner: { enum: ["keep", "root"] },
        permissions: { enum: ["keep", "canonical"] },
        xattrs: { enum: ["keep", "drop"] },
      },
    },
    postprocess: { enum: ["ostree", "none"] },
  },
} as const;

/** `/inputs/1/tar` → `inputs[1].tar`. */
function fieldName(pointer: string, extra?: string): string {
  const parts = pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (extra !== undefined) parts.push(extra);
  let out = "";
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || "(top level)";
}

/** The most useful single message for a set of ajv errors. */
function describeErrors(errors: ErrorObject[]): string {
  // oneOf failures produce one error per branch; prefer an error inside the branch that matched the key.
  const specific = errors.filter((e) => e.keyword !== "oneOf" && e.keyword !== "anyOf");
  const pick = (e: ErrorObject): string => {
    if (e.keyword === "additionalProperties") {
      const p = (e.params as { additionalProperty: string }).additionalProperty;
      return `${fieldName(e.instancePath, p)}: unknown field`;
    }
    if (e.keyword === "required") {
      const p = (e.params as { missingProperty: string }).missingProperty;
      return `${fieldName(e.instancePath, p)}: is required`;
    }
    if (e.keyword === "enum") {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(", ");
      return `${fieldName(e.instancePath)}: must be one of ${allowed}`;
    }
    return `${fieldName(e.instancePath)}: ${e.message ?? "is invalid"}`;
  };
  // A source entry that matched no branch: say which keys a source may have.
  const sourceMiss = errors.find(
    (e) => e.keyword === "oneOf" && /^\/(inputs|layers)\/\d+$/.test(e.instancePath),
  );
  if (sourceMiss) {
    const inside = specific.filter(
      (e) =>
        e.instancePath.startsWith(`${sourceMiss.instancePath}/`) ||
        (e.instancePath === sourceMiss.instancePath &&
          e.keyword !== "required" &&
          e.keyword !== "additionalProperties"),
    );
    if (inside.length) return pick(inside[0]!);
    return `${fieldName(sourceMiss.instancePath)}: must have exactly one of dir, tar, ref, debian (ref may add repo)`;
  }
  return pick(specific[0] ?? errors[0]!);
}

let validator: ReturnType<Ajv["compile"]> | undefined;

function epochOf(v: unknown, what: string): number {
  const n =
    typeof v === "number"
      ? v
      : typeof v === "string" && /^\d+$/.test(v.trim())
        ? Number(v.trim())
        : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ArborError(
      "MANIFEST",
      `${what}: must be a non-negative integer number of seconds, not "${String(v)}"`,
    );
  }
  return n;
}

/**
 * Validate a parsed manifest document and resolve its relative paths against `baseDir`.
 * `env.SOURCE_DATE_EPOCH` is used when the manifest declares no `source_date_epoch`.
 * @throws ArborError MANIFEST naming the bad field: `Invalid manifest "m.yaml": inputs[1].tar: must be string`.
 */
export function validateManifest(
  doc: unknown,
  o: { baseDir: string; what?: string; env?: Readonly<Record<string, string | undefined>> },
): Manifest {
  const what = o.what ?? "manifest";
  const bad = (msg: string): ArborError => new ArborError("MANIFEST", `Invalid manifest "${what}": ${msg}`);
  validator ??= new Ajv({ allErrors: true, strict: false }).compile(MANIFEST_SCHEMA);
  if (!validator(doc)) throw bad(describeErrors(validator.errors ?? []));
  const m = doc as Record<string, unknown>;
  if (!isRef(m.ref as string)) throw bad(`ref: "${String(m.ref)}" is not a valid ref name`);
  const source = (s: Record<string, unknown>, field: string): ManifestSource => {
    if (typeof s.dir === "string") return { kind: "dir", path: resolve(o.baseDir, s.dir) };
    if (typeof s.tar === "string") return { kind: "tar", path: resolve(o.baseDir, s.tar) };
    if (typeof s.ref === "string") {
      if (!isRef(s.ref) && !/^[0-9a-f]{64}$/.test(s.ref))
        throw bad(`${field}.ref: "${s.ref}" is not a ref or checksum`);
      return {
        kind: "ref",
        ref: s.ref,
        ...(typeof s.repo === "string" ? { repo: resolve(o.baseDir, s.repo) } : {}),
      };
    }
    const d = s.debian as Record<string, unknown>;
    return {
      kind: "debian",
      suite: d.suite as string,
      variant: (d.variant as string | undefined) ?? "minbase",
      packages: (d.packages as string[] | undefined) ?? [],
      ...(typeof d.mirror === "string" ? { mirror: d.mirror } : {}),
    };
  };
  let epoch: number;
  try {
    if (m.source_date_epoch !== undefined) epoch = epochOf(m.source_date_epoch, "source_date_epoch");
    else if (o.env?.SOURCE_DATE_EPOCH !== undefined)
      epoch = epochOf(o.env.SOURCE_DATE_EPOCH, "$SOURCE_DATE_EPOCH");
    else throw new ArborError("MANIFEST", "source_date_epoch: is required (or set $SOURCE_DATE_EPOCH)");
  } catch (e) {
    throw bad((e as Error).message);
  }
  const n = (m.normalize ?? {}) as Partial<Normalize>;
  return {
    ref: m.ref as string,
    version: String(m.version),
    sourceDateEpoch: epoch,
    ...(typeof m.subject === "string" ? { subject: m.subject } : {}),
    inputs: (m.inputs as Record<string, unknown>[]).map((s, i) => source(s, `inputs[${i}]`)),
    layers: ((m.layers ?? []) as Record<string, unknown>[]).map((s, i) => source(s, `layers[${i}]`)),
    metadata: Object.entries((m.metadata ?? {}) as Record<string, string | number | boolean | string[]>),
    normalize: { owner: n.owner ?? "keep", permissions: n.permissions ?? "keep", xattrs: n.xattrs ?? "keep" },
    postprocess: (m.postprocess as "ostree" | "none" | undefined) ?? "ostree",
  };
}

/**
 * Read, parse (YAML, of which JSON is a subset) and validate a manifest file.
 * @throws ArborError NOT_FOUND / IO (unreadable), MANIFEST (syntax or schema, naming the field).
 */
export function loadManifest(path: string, env?: Readonly<Record<string, string | undefined>>): Manifest {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw fromSystemError(`Cannot read manifest "${path}"`, e);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { uniqueKeys: true, prettyErrors: true });
  } catch (e) {
    throw new ArborError(
      "MANIFEST",
      `Cannot parse manifest "${path}": ${(e as Error).message.split("\n")[0]}`,
    );
  }
  return validateManifest(doc, { baseDir: dirname(resolve(path)), what: path, ...(env ? { env } : {}) });
}
