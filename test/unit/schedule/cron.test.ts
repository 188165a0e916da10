import { describe, expect, it } from "vitest";
import { nextTimes, parseCron, tryParseCron } from "../../../src/schedule/index.ts";

const iso = (dates: Date[]) => dates.map((d) => d.toISOString());
const FROM = new Date("2024-01-01T00:00:00Z"); // a Monday

describe("Given five-field cron expressions in UTC", () => {
  it.each([
    {
      name: "every 15 minutes",
      expr: "*/15 * * * *",
      want: ["2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z", "2024-01-01T00:45:00Z"],
    },
    {
      name: "a list of minutes",
      expr: "5,35 * * * *",
      want: ["2024-01-01T00:05:00Z", "2024-01-01T00:35:00Z", "2024-01-01T01:05:00Z"],
    },
    {
      name: "a range with a step",
      expr: "0 1-7/3 * * *",
      want: ["2024-01-01T01:00:00Z", "2024-01-01T04:00:00Z", "2024-01-01T07:00:00Z"],
    },
    {
      name: "a start with a step (N/step = N-max/step)",
      expr: "0 20/2 * * *",
      want: ["2024-01-01T20:00:00Z", "2024-01-01T22:00:00Z", "2024-01-02T20:00:00Z"],
    },
    {
      name: "weekday names as a range",
      expr: "0 9 * * MON-FRI",
      want: ["2024-01-01T09:00:00Z", "2024-01-02T09:00:00Z", "2024-01-03T09:00:00Z"],
    },
    {
      name: "Sunday as 7",
      expr: "0 3 * * 7",
      want: ["2024-01-07T03:00:00Z", "2024-01-14T03:00:00Z", "2024-01-21T03:00:00Z"],
    },
    {
      name: "month names in lower case",
      expr: "0 0 1 feb,aug *",
      want: ["2024-02-01T00:00:00Z", "2024-08-01T00:00:00Z", "2025-02-01T00:00:00Z"],
    },
    {
      name: "day-of-month OR day-of-week when both are restricted",
      expr: "0 0 13 * FRI",
      want: ["2024-01-05T00:00:00Z", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z"],
    },
    {
      name: "a stepped star day-of-month counts as restricted (Kubernetes rule)",
      expr: "0 0 */10 * MON",
      want: ["2024-01-08T00:00:00Z", "2024-01-11T00:00:00Z", "2024-01-15T00:00:00Z"],
    },
    {
      name: "only day-of-week restricts when day-of-month is ?",
      expr: "0 0 ? * WED",
      want: ["2024-01-03T00:00:00Z", "2024-01-10T00:00:00Z", "2024-01-17T00:00:00Z"],
    },
    {
      name: "29 February (leap years only)",
      expr: "0 0 29 2 *",
      want: ["2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"],
    },
    {
      name: "the 31st skips short months",
      expr: "0 12 31 * *",
      want: ["2024-01-31T12:00:00Z", "2024-03-31T12:00:00Z", "2024-05-31T12:00:00Z"],
    },
  ])("$name: $expr", ({ expr, want }) => {
    expect(iso(nextTimes(expr, "UTC", FROM, 3))).toEqual(
      want.map((w) => new Date(w).toISOString()),
    );
  });

  it.each([
    { macro: "@yearly", want: "0 0 1 1 *" },
    { macro: "@annually", want: "0 0 1 1 *" },
    { macro: "@monthly", want: "0 0 1 * *" },
    { macro: "@weekly", want: "0 0 * * 0" },
    { macro: "@daily", want: "0 0 * * *" },
    { macro: "@midnight", want: "0 0 * * *" },
    { macro: "@hourly", want: "0 * * * *" },
    { macro: " @DAILY ", want: "0 0 * * *" },
  ])("macro $macro expands to $want", ({ macro, want }) => {
    expect(parseCron(macro).source).toBe(want);
  });

  it("returns times strictly after `from`, even exactly on a slot", () => {
    expect(iso(nextTimes("0 * * * *", "UTC", new Date("2024-01-01T05:00:00Z"), 1))).toEqual([
      "2024-01-01T06:00:00.000Z",
    ]);
  });
});

describe("Given invalid cron expressions", () => {
  it.each([
    { name: "too few fields", expr: "0 2 * *", message: "expected 5 fields" },
    { name: "six fields (seconds)", expr: "0 0 2 * * *", message: "expected 5 fields" },
    {
      name: "minute out of range",
      expr: "60 * * * *",
      message: "minute field: 60 is out of range 0-59",
    },
    {
      name: "hour out of range",
      expr: "0 24 * * *",
      message: "hour field: 24 is out of range 0-23",
    },
    { name: "day 0", expr: "0 0 0 * *", message: "day-of-month field: 0 is out of range 1-31" },
    {
      name: "unknown weekday name",
      expr: "0 0 * * MOX",
      message: 'day-of-week field: "MOX" is not a number or name (use 0-7 or SUN-SAT)',
    },
    {
      name: "unknown month name",
      expr: "0 0 1 JANUARY *",
      message: 'month field: "JANUARY" is not a number or name',
    },
    {
      name: "zero step",
      expr: "*/0 * * * *",
      message: 'minute field: step "0" must be a positive number',
    },
    {
      name: "reversed range",
      expr: "0 5-3 * * *",
      message: "hour field: range 5-3 starts after it ends",
    },
    {
      name: "empty list element",
      expr: "1,,2 * * * *",
      message: "minute field: empty list element",
    },
    { name: "unknown macro", expr: "@fortnightly", message: 'unknown macro "@fortnightly"' },
    { name: "a TZ prefix", expr: "TZ=UTC 0 2 * * *", message: "use spec.timeZone" },
    { name: "a day that never exists", expr: "0 0 31 4,6 *", message: "the schedule never fires" },
    { name: "30 February", expr: "0 0 30 2 *", message: "the schedule never fires" },
    { name: "empty", expr: "  ", message: "empty schedule" },
  ])("rejects $name ($expr) with a clear message", ({ expr, message }) => {
    const result = tryParseCron(expr);
    expect(result.error).toContain(message);
    expect(result.error).toContain(`invalid schedule "${expr}"`);
  });

  it("accepts 31 April-or-Friday because the weekday still fires (OR rule)", () => {
    expect(tryParseCron("0 0 31 4 FRI").error).toBeUndefined();
  });
});
