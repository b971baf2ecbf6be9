import { describe, expect, it } from "vitest";
import { splitUserId } from "../../../src/sign/gpg-verify.js";

describe("splitUserId()", () => {
  it("splits the raw user ID when openpgp.js found no name or email (a name alone)", () => {
    expect(splitUserId({ name: "", email: "", userID: "Test Key 1" })).toEqual(["Test Key 1", ""]);
    expect(splitUserId({ userID: "A B (comment) <a@b.example>" })).toEqual(["A B", "a@b.example"]);
    expect(splitUserId({ userID: "<only@mail.example>" })).toEqual(["", "only@mail.example"]);
  });
  it("keeps openpgp.js's parse when it has one, and copes with no user ID", () => {
    expect(splitUserId({ name: "Ostree Tester", email: "test@test.com", userID: "x" })).toEqual([
      "Ostree Tester",
      "test@test.com",
    ]);
    expect(splitUserId(null)).toEqual(["", ""]);
  });
});
