import { describe, expect, it } from "vitest";
import { errorMessage } from "../../../src/lib/errors.ts";

function withCode(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

describe("Given a thrown value", () => {
  it.each<[string, unknown, string]>([
    ["an Error", new Error("boom"), "boom"],
    ["a string", "plain text", "plain text"],
    ["a number", 42, "42"],
    ["an Error without message", new TypeError(""), "TypeError"],
    [
      "an Error whose message names its code",
      withCode("connect ECONNREFUSED", "ECONNREFUSED"),
      "connect ECONNREFUSED",
    ],
    [
      "an Error with a code its message lacks",
      withCode("socket hang up", "ECONNRESET"),
      "socket hang up (ECONNRESET)",
    ],
    [
      "an Error with a numeric code",
      Object.assign(new Error("Conflict"), { code: 409 }),
      "Conflict",
    ],
  ])("When it is %s, then its message is %j", (_what, err, message) => {
    expect(errorMessage(err)).toBe(message);
  });
});
