// Event names must be valid DNS subdomains for any object name the API server
// accepts (up to 253 characters). Cutting a long name can leave a dot or a
// dash right before the "." of the suffix (".." or "-."): the API server then
// rejects the Event.
import { describe, expect, it } from "vitest";
import { eventName } from "../../../src/runtime/events.ts";

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const T0 = Date.UTC(2026, 0, 1, 12);
const KEY = "u-1\u0000Warning\u0000ProbeFailed\u0000timeout";

/** A valid 253-character name with `separator` at `at` (and a run of them around it for "-"). */
function nameWithSeparatorAt(at: number, separator: "." | "-"): string {
  const chars = Array.from({ length: 253 }, () => "a");
  chars[at] = separator;
  if (separator === "-") chars[at - 1] = "-";
  return chars.join("");
}

// Every cut the suffix length can produce lands somewhere in this range.
const positions = Array.from({ length: 30 }, (_, i) => 220 + i);
const cases = positions.flatMap((at) => [
  [at, "."],
  [at, "-"],
]) as [number, "." | "-"][];

describe("Given an object name of 253 characters", () => {
  it.each(cases)(
    "When the cut falls next to position %i holding %j, then the Event name is a valid DNS subdomain",
    (at, separator) => {
      const objName = nameWithSeparatorAt(at, separator);
      expect(objName).toMatch(DNS_SUBDOMAIN);
      const name = eventName(objName, KEY, T0);
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(DNS_SUBDOMAIN);
    },
  );

  it("When the name is short, then it is kept whole before the suffix", () => {
    expect(eventName("db-1.a", KEY, T0)).toMatch(/^db-1\.a\.[0-9a-f]+$/);
  });
});
