// Business hours in a time zone: where low-severity notifications wait.
import { describe, expect, it } from "vitest";
import { inBusinessHours, nextBusinessTime } from "../../../src/schedule/business-hours.ts";

const window = (timeZone: string) => ({
  timeZone,
  days: ["Mon", "Tue", "Wed", "Thu", "Fri"],
  startMinute: 9 * 60,
  endMinute: 17 * 60,
});
const at = (iso: string) => Date.parse(iso);
const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

describe("Given Mon–Fri 09:00–17:00", () => {
  it.each([
    {
      case: "Tuesday 10:00 UTC (inside)",
      zone: "UTC",
      now: "2026-12-01T10:00:00Z",
      next: "2026-12-01T10:00:00.000Z",
    },
    {
      case: "Tuesday 08:59 UTC (before opening)",
      zone: "UTC",
      now: "2026-12-01T08:59:00Z",
      next: "2026-12-01T09:00:00.000Z",
    },
    {
      case: "Tuesday 17:00 UTC (just closed)",
      zone: "UTC",
      now: "2026-12-01T17:00:00Z",
      next: "2026-12-02T09:00:00.000Z",
    },
    {
      case: "Friday 18:00 UTC",
      zone: "UTC",
      now: "2026-12-04T18:00:00Z",
      next: "2026-12-07T09:00:00.000Z",
    },
    {
      case: "Saturday noon in Berlin (winter, +01:00)",
      zone: "Europe/Berlin",
      now: "2026-12-05T12:00:00Z",
      next: "2026-12-07T08:00:00.000Z",
    },
    {
      case: "Sunday night in New York before the spring DST change",
      zone: "America/New_York",
      now: "2026-03-08T12:00:00Z",
      next: "2026-03-09T13:00:00.000Z",
    },
  ])("$case → $next", ({ zone, now, next }) => {
    expect(iso(nextBusinessTime(at(now), window(zone)))).toBe(next);
  });

  it("knows inside from outside, and has no next time when no day is open", () => {
    expect(inBusinessHours(at("2026-12-01T16:59:59Z"), window("UTC"))).toBe(true);
    expect(inBusinessHours(at("2026-12-05T10:00:00Z"), window("UTC"))).toBe(false);
    expect(
      nextBusinessTime(at("2026-12-05T10:00:00Z"), { ...window("UTC"), days: [] }),
    ).toBeUndefined();
  });
});
