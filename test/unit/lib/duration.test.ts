// One duration parser, two grammars: the CRDs' ("api") and the flags' ("flag").
import { describe, expect, it } from "vitest";
import {
  AGE_PATTERN,
  DURATION_PATTERN,
  DurationError,
  parseDuration,
  type DurationSyntax,
} from "../../../src/lib/duration.ts";

describe("Given a duration text", () => {
  it.each<[DurationSyntax, string, number]>([
    // api: spec fields (crds, tasks, controllers)
    ["api", "30s", 30_000],
    ["api", "5m", 300_000],
    ["api", "1h30m", 5_400_000],
    ["api", "250ms", 250],
    ["api", "7d", 604_800_000],
    ["api", "2w", 1_209_600_000],
    ["api", "1d12h", 129_600_000],
    // flag: the operator's flags and environment variables
    ["flag", "500ms", 500],
    ["flag", "15s", 15_000],
    ["flag", "1m30s", 90_000],
    ["flag", "1.5h", 5_400_000],
    ["flag", "0", 0],
    ["flag", " 2s ", 2000],
  ])("When its syntax is %s, then %j is %d ms", (syntax, text, ms) => {
    expect(parseDuration(text, { syntax })).toBe(ms);
  });

  it("When no syntax is given, then it is the api syntax", () => {
    expect(parseDuration("7d")).toBe(604_800_000);
    expect(() => parseDuration("1.5h")).toThrow(DurationError);
  });

  it.each<[DurationSyntax, string]>([
    ["api", ""],
    ["api", "30"],
    ["api", "5 m"],
    ["api", "1.5h"],
    ["api", "-1s"],
    ["api", "30sec"],
    ["api", "forever"],
    ["api", "0"],
    ["flag", "15"],
    ["flag", "s"],
    ["flag", "15s junk"],
    ["flag", "-1s"],
    ["flag", "7d"],
    ["flag", ""],
  ])("When its syntax is %s, then %j is not a duration", (syntax, text) => {
    expect(() => parseDuration(text, { syntax })).toThrow(
      `invalid duration ${JSON.stringify(text)}`,
    );
  });

  it.each(["", "30", "5 m", "1.5h", "-1s", "30sec", "forever"])(
    "Then %j does not match the admission pattern",
    (text) => {
      expect(DURATION_PATTERN.test(text)).toBe(false);
    },
  );

  it.each(["7d", "36h", "2w", "1d12h"])("Then %s is an age", (text) => {
    expect(AGE_PATTERN.test(text)).toBe(true);
  });
});
