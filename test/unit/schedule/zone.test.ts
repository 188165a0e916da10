import { describe, expect, it } from "vitest";
import {
  formatInZone,
  nextTimes,
  prevTime,
  validateTimeZone,
} from "../../../src/schedule/index.ts";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());

describe("Given schedules across DST transitions", () => {
  it.each([
    {
      name: "Berlin spring forward: a daily 02:30 run moves to 03:00 CEST, not lost",
      zone: "Europe/Berlin",
      expr: "30 2 * * *",
      from: "2024-03-29T12:00:00Z",
      want: ["2024-03-30T01:30:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"],
    },
    {
      name: "Berlin spring forward: gap times collapse with 03:00 into one run",
      zone: "Europe/Berlin",
      expr: "0 2,3 * * *",
      from: "2024-03-30T23:00:00Z",
      want: ["2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z", "2024-04-01T01:00:00Z"],
    },
    {
      name: "Berlin fall back: the repeated 02:30 runs once (first occurrence)",
      zone: "Europe/Berlin",
      expr: "30 2 * * *",
      from: "2024-10-26T12:00:00Z",
      want: ["2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z", "2024-10-29T01:30:00Z"],
    },
    {
      name: "Berlin fall back: half-hourly runs skip the repeated hour",
      zone: "Europe/Berlin",
      expr: "*/30 * * * *",
      from: "2024-10-26T23:50:00Z",
      want: ["2024-10-27T00:00:00Z", "2024-10-27T00:30:00Z", "2024-10-27T02:00:00Z"],
    },
    {
      name: "New York spring forward: 02:15 runs at 03:00 EDT",
      zone: "America/New_York",
      expr: "15 2 * * *",
      from: "2024-03-09T12:00:00Z",
      want: ["2024-03-10T07:00:00Z", "2024-03-11T06:15:00Z", "2024-03-12T06:15:00Z"],
    },
    {
      name: "New York fall back: 01:30 runs once, at EDT",
      zone: "America/New_York",
      expr: "30 1 * * *",
      from: "2024-11-02T12:00:00Z",
      want: ["2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z", "2024-11-05T06:30:00Z"],
    },
    {
      name: "New York hourly across fall back: 01:00 once, then 02:00 EST",
      zone: "America/New_York",
      expr: "0 * * * *",
      from: "2024-11-03T04:30:00Z",
      want: ["2024-11-03T05:00:00Z", "2024-11-03T07:00:00Z", "2024-11-03T08:00:00Z"],
    },
    {
      name: "a from inside the repeated hour does not rerun its first occurrence",
      zone: "America/New_York",
      expr: "45 1 * * *",
      from: "2024-11-03T06:10:00Z",
      want: ["2024-11-04T06:45:00Z", "2024-11-05T06:45:00Z", "2024-11-06T06:45:00Z"],
    },
  ])("$name", ({ zone, expr, from, want }) => {
    expect(iso(nextTimes(expr, zone, new Date(from), 3))).toEqual(
      want.map((w) => new Date(w).toISOString()),
    );
  });

  it.each([
    {
      name: "inside the Berlin gap day, after 03:00: the moved 02:30 run",
      zone: "Europe/Berlin",
      expr: "30 2 * * *",
      at: "2024-03-31T01:10:00Z",
      want: "2024-03-31T01:00:00Z",
    },
    {
      name: "inside the second occurrence of the repeated hour: its first occurrence",
      zone: "Europe/Berlin",
      expr: "30 2 * * *",
      at: "2024-10-27T01:10:00Z",
      want: "2024-10-27T00:30:00Z",
    },
    {
      name: "exactly on a slot: that slot",
      zone: "America/New_York",
      expr: "0 9 * * MON-FRI",
      at: "2024-07-01T13:00:00Z",
      want: "2024-07-01T13:00:00Z",
    },
    {
      name: "on a Monday morning before the slot: Friday's run",
      zone: "America/New_York",
      expr: "0 9 * * MON-FRI",
      at: "2024-07-01T12:59:00Z",
      want: "2024-06-28T13:00:00Z",
    },
  ])("prevTime $name", ({ zone, expr, at, want }) => {
    expect(prevTime(expr, zone, new Date(at))?.toISOString()).toBe(new Date(want).toISOString());
  });

  it("prints wall times with their offset", () => {
    expect(formatInZone(Date.parse("2024-03-31T01:00:00Z"), "Europe/Berlin")).toBe(
      "2024-03-31 03:00:00 +02:00",
    );
  });
});

describe("Given time zone names", () => {
  it.each([
    { zone: "UTC", canonical: "UTC" },
    { zone: "Europe/Berlin", canonical: "Europe/Berlin" },
    { zone: "America/New_York", canonical: "America/New_York" },
    { zone: "Asia/Kolkata", canonical: "Asia/Kolkata" },
  ])("accepts $zone", ({ zone, canonical }) => {
    expect(validateTimeZone(zone)).toEqual({ valid: true, zone: canonical });
  });

  it.each([
    { name: "an unknown zone", zone: "Mars/Olympus", error: 'unknown time zone "Mars/Olympus"' },
    { name: "an offset", zone: "+02:00", error: "is not supported" },
    { name: "a TZ= prefix", zone: "TZ=UTC", error: "is not supported" },
    { name: "Local", zone: "Local", error: "is not supported" },
    { name: "empty", zone: "", error: "time zone is empty" },
  ])("rejects $name with a hint", ({ zone, error }) => {
    const v = validateTimeZone(zone);
    expect(v.valid).toBe(false);
    if (!v.valid) {
      expect(v.error).toContain(error);
      expect(v.error).toContain("IANA name");
    }
  });

  it("nextTimes throws a RangeError for an invalid zone", () => {
    expect(() => nextTimes("0 * * * *", "Nowhere/Land", new Date(0), 1)).toThrow(
      /unknown time zone "Nowhere\/Land"/,
    );
  });
});
