import { describe, expect, it } from "vitest";
import { EXIT_USAGE_NATIVE, isBrokenPipe, reportError, usageError } from "../../../src/cli/exit.js";
import { Output } from "../../../src/cli/output.js";
import { ArborError, fromSystemError, withContext } from "../../../src/errors.js";
import { captureSink } from "./_helpers.js";

function report(e: unknown, extra: { usageText?: string; usageExitCode?: number; debug?: boolean } = {}) {
  const sink = captureSink();
  const code = reportError(e, { err: new Output(sink, { unbuffered: true }), ...extra });
  return { code, err: sink.text() };
}

const epipe = (): Error => Object.assign(new Error("write EPIPE"), { code: "EPIPE" });

describe("reportError()", () => {
  it("prints an ArborError as 'error: <message>' and exits 1", () => {
    expect(report(new ArborError("NOT_FOUND", "Refspec 'x' not found"))).toEqual({
      code: 1,
      err: "error: Refspec 'x' not found\n",
    });
  });

  it("exits 1 for usage errors by default (ostree does), 2 when asked (arbor-only verbs)", () => {
    expect(report(usageError("Unknown option --x", "none")).code).toBe(1);
    expect(report(usageError("Unknown option --x", "none"), { usageExitCode: EXIT_USAGE_NATIVE }).code).toBe(
      2,
    );
  });

  it("prints the help text before a usage error only when the error asks for it", () => {
    expect(
      report(usageError("Command requires a --repo argument"), { usageText: "Usage:\n  x\n\n" }).err,
    ).toBe("Usage:\n  x\n\nerror: Command requires a --repo argument\n");
    expect(
      report(usageError("REV must be specified", "help-gap"), { usageText: "Usage:\n  x\n\n" }).err,
    ).toBe("Usage:\n  x\n\n\nerror: REV must be specified\n");
    expect(report(usageError("Unknown option --x", "none"), { usageText: "Usage:\n" }).err).toBe(
      "error: Unknown option --x\n",
    );
  });

  it("prints only the message of an unexpected error, the stack with debug", () => {
    expect(report(new RangeError("offset out of range"))).toEqual({
      code: 1,
      err: "error: offset out of range\n",
    });
    const d = report(new RangeError("offset out of range", { cause: new Error("inner") }), { debug: true });
    expect(d.err).toMatch(/^error: offset out of range\nRangeError: offset out of range\n\s+at /);
    expect(d.err).toContain("Caused by: Error: inner");
    expect(report("a string").err).toBe("error: a string\n");
  });

  it("exits 0 quietly on EPIPE, also when wrapped by the library", () => {
    expect(report(epipe())).toEqual({ code: 0, err: "" });
    expect(report(withContext("Listing files", epipe()))).toEqual({ code: 0, err: "" });
    expect(isBrokenPipe(fromSystemError("Writing", epipe()))).toBe(true);
    expect(isBrokenPipe(new Error("x"))).toBe(false);
  });

  it("never throws, even when stderr is gone", () => {
    const dead = new Output({
      write() {
        throw epipe();
      },
    });
    expect(reportError(new Error("x"), { err: dead })).toBe(1);
  });
});
