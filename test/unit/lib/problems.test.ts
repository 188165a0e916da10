import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/cli/operator-config.ts";
import { IncidentPolicyError } from "../../../src/config/incident-policy.ts";
import { ProblemsError } from "../../../src/lib/problems.ts";

describe("Given the errors that carry a list of problems", () => {
  it.each<[string, new (problems: string[]) => ProblemsError]>([
    ["ProblemsError", ProblemsError],
    ["ConfigError", ConfigError],
    ["IncidentPolicyError", IncidentPolicyError],
  ])(
    "When a %s is thrown with two problems, then it is a ProblemsError under its own name, with both problems and one line each in its message",
    (name, ErrorClass) => {
      const err = new ErrorClass(["--a: must be a number", "--b: unknown flag"]);
      expect(err).toBeInstanceOf(ProblemsError);
      expect(err).toBeInstanceOf(Error);
      expect(err.name).toBe(name);
      expect(err.problems).toEqual(["--a: must be a number", "--b: unknown flag"]);
      expect(err.message).toBe("--a: must be a number\n--b: unknown flag");
    },
  );
});
