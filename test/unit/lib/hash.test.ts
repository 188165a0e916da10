import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fnv1a, sha256, sha256Hex } from "../../../src/lib/hash.ts";

describe("Given a text to hash", () => {
  it.each([
    ["", undefined, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    ["abc", undefined, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
    ["abc", 8, "ba7816bf"],
  ])("When it is %j cut to %s, then the hex digest is %s", (text, length, hex) => {
    expect(sha256Hex(text, length)).toBe(hex);
  });

  it("Then the raw digest is the hex digest's bytes", () => {
    expect(sha256("ns/name").toString("hex")).toBe(sha256Hex("ns/name"));
  });

  it("Then one text joined with NUL hashes like chained updates of its parts", () => {
    const chained = createHash("sha256").update("a").update("\0").update("b").digest("hex");
    expect(sha256Hex("a\0b")).toBe(chained);
  });
});

describe("Given a text for a short name suffix", () => {
  it.each([
    // The FNV-1a offset basis, and published 32-bit FNV-1a test vectors.
    ["", "811c9dc5"],
    ["a", "e40c292c"],
    ["foobar", "bf9cf968"],
  ])("When it is %j, then FNV-1a gives %s", (text, hex) => {
    expect(fnv1a(text)).toBe(hex);
  });
});
